/**
 * Everything observable about a run. The engine emits these; the CLI prints them; the worker
 * streams them to Redis and the API stores them and fans them out to SSE clients.
 */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelling' | 'cancelled';
export type RunOutcome = 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'completed' | 'failed' | 'skipped' | 'cancelled';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface StepStats {
  /** Records that reached the step. */
  in: number;
  /** Records the step passed on. */
  out: number;
  /** Records that failed in the step (each one is a record.error). */
  errors: number;
  /** Records the step dropped on purpose (filters). */
  ignored: number;
  durationMs: number;
}

export interface RunError {
  message: string;
  /** The step where it happened, when a step failed. */
  stepId?: string;
  /** Error class name: ConfigError, TransientError, TimeoutError, ... */
  type?: string;
}

interface EventBase {
  /** Milliseconds since the epoch. */
  at: number;
}

export interface JobStartedEvent extends EventBase {
  type: 'job.started';
  flow: string;
  /** Set when the run resumes at a step with given records (retry of failed records). */
  resumeAt?: string;
}
export interface StepStartedEvent extends EventBase {
  type: 'step.started';
  stepId: string;
  /** Where the step is in the flow, e.g. steps[2].then[0]. */
  path: string;
  use?: string;
}
export interface StepLogEvent extends EventBase {
  type: 'step.log';
  stepId?: string;
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
}
/** Throttled progress of a running step, and its final stats. */
export interface StepStatsEvent extends EventBase {
  type: 'step.stats';
  stepId: string;
  stats: StepStats;
}
export interface StepFinishedEvent extends EventBase {
  type: 'step.finished';
  stepId: string;
  status: StepStatus;
  stats: StepStats;
  error?: RunError;
}
export interface RecordErrorEvent extends EventBase {
  type: 'record.error';
  stepId: string;
  message: string;
  /** The record as it entered the failing step: what "retry failed records" feeds back in. */
  record: Record<string, unknown>;
  attempt: number;
  retryable: boolean;
}
export interface JobFinishedEvent extends EventBase {
  type: 'job.finished';
  status: RunOutcome;
  error?: RunError;
  stats: Record<string, StepStats>;
  errorCount: number;
  durationMs: number;
  /** The last step's first output record, if any (what an HTTP listener answers with). */
  output?: unknown;
}

export type RunEvent =
  | JobStartedEvent
  | StepStartedEvent
  | StepLogEvent
  | StepStatsEvent
  | StepFinishedEvent
  | RecordErrorEvent
  | JobFinishedEvent;

export type RunEventType = RunEvent['type'];

/** Where events go. Must not throw and must not block: buffer, then flush elsewhere. */
export type RunEventSink = (event: RunEvent) => void;

export function emptyStats(): StepStats {
  return { in: 0, out: 0, errors: 0, ignored: 0, durationMs: 0 };
}
