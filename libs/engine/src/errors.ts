import { ConnectorError, errorMessage } from '@junction/flow';
import type { RunError } from '@junction/protocol';

/** A call to an operation (or the whole job) ran past its time limit; retrying may help. */
export class TimeoutError extends ConnectorError {
  constructor(message: string) {
    super(message, { retryable: true });
    this.name = 'TimeoutError';
  }
}

/** The run was cancelled, or a step was stopped because its stream is no longer needed. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** A step failed. Keeps the failing step's id and the original error's class name for RunError. */
export class StepFailure extends Error {
  readonly stepId: string;
  readonly type: string;
  constructor(stepId: string, message: string, type: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StepFailure';
    this.stepId = stepId;
    this.type = type;
  }

  /** Wraps an error thrown in a step; a failure of an inner step keeps its own step id. */
  static from(stepId: string, error: unknown): StepFailure {
    if (error instanceof StepFailure) return error;
    return new StepFailure(stepId, errorMessage(error), errorType(error), error);
  }
}

export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export function toRunError(error: unknown): RunError {
  if (error instanceof StepFailure) return { message: error.message, stepId: error.stepId, type: error.type };
  return { message: errorMessage(error), type: errorType(error) };
}

/** What an aborted signal should throw: its reason when that is an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new CancelledError();
}
