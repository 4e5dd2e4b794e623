import type { StepLogger } from '@junction/flow';
import type { LogLevel, RunEvent, RunEventSink } from '@junction/protocol';

type WithoutTime<E> = E extends RunEvent ? Omit<E, 'at'> : never;
export type EventInput = WithoutTime<RunEvent>;

/** The run's one way out: stamps events and keeps a misbehaving sink from breaking the run. */
export class RunEvents {
  private readonly sink: RunEventSink | undefined;

  constructor(sink?: RunEventSink) {
    this.sink = sink;
  }

  emit(event: EventInput): void {
    if (!this.sink) return;
    try {
      this.sink({ ...event, at: Date.now() });
    } catch {
      // a sink must not throw (RunEventSink); if it does, the run goes on without that event
    }
  }

  log(stepId: string | undefined, level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.emit({ type: 'step.log', stepId, level, message, ...(fields ? { fields } : {}) });
  }

  logger(stepId: string): StepLogger {
    return {
      debug: (message, fields) => this.log(stepId, 'debug', message, fields),
      info: (message, fields) => this.log(stepId, 'info', message, fields),
      warn: (message, fields) => this.log(stepId, 'warn', message, fields),
      error: (message, fields) => this.log(stepId, 'error', message, fields),
    };
  }
}
