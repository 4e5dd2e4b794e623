import type { EventPublisher } from '@junction/jobs';
import type { JobFinishedEvent, RunEvent, RunEventSink } from '@junction/protocol';

const MAX_MESSAGE_CHARS = 4_000;
const MAX_FIELDS_CHARS = 4_000;
const MAX_RECORD_ERRORS = 100_000;

export interface JobEventSinkOptions {
  jobId: string;
  workerId: string;
  /** Events of this run are numbered from seqBase + 1. */
  seqBase: number;
  maxLogEvents: number;
  /** Rewrites (or drops, with null) the engine's job.finished: hand-backs and lost leases. */
  finishing?: (event: JobFinishedEvent) => JobFinishedEvent | null;
  onDroppedLog?: () => void;
  onEvent?: (event: RunEvent) => void;
}

/**
 * Numbers a job's events and hands them to the shared publisher, keeping the volume bounded: at
 * most maxLogEvents log lines (then one line saying the rest were dropped), long messages cut.
 */
export class JobEventSink {
  readonly sink: RunEventSink;
  private readonly publisher: EventPublisher;
  private readonly opts: JobEventSinkOptions;
  private seq: number;
  private logs = 0;
  private dropped = 0;
  private recordErrors = 0;
  finished: JobFinishedEvent | undefined;

  constructor(publisher: EventPublisher, options: JobEventSinkOptions) {
    this.publisher = publisher;
    this.opts = options;
    this.seq = options.seqBase;
    this.sink = (event) => this.accept(event);
  }

  /** Sends an event the worker itself makes (not from the engine), e.g. a failure before the run. */
  emit(event: RunEvent): void {
    this.accept(event);
  }

  private accept(event: RunEvent): void {
    let out: RunEvent | null = event;
    switch (event.type) {
      case 'step.log':
        out = this.boundLog(event);
        break;
      case 'record.error':
        if (++this.recordErrors > MAX_RECORD_ERRORS) out = null;
        break;
      case 'job.finished':
        out = this.opts.finishing ? this.opts.finishing(event) : event;
        if (out) {
          if (this.dropped > 0) this.push(this.limitNotice());
          this.finished = out;
        }
        break;
      case 'job.started':
      case 'step.started':
      case 'step.stats':
      case 'step.finished':
        break;
    }
    if (out) this.push(out);
  }

  private push(event: RunEvent): void {
    this.seq += 1;
    this.publisher.publish({
      jobId: this.opts.jobId,
      seq: this.seq,
      event,
      ...(event.type === 'job.started' ? { workerId: this.opts.workerId } : {}),
    });
    this.opts.onEvent?.(event);
  }

  private boundLog(event: Extract<RunEvent, { type: 'step.log' }>): RunEvent | null {
    if (this.logs >= this.opts.maxLogEvents) {
      this.dropped++;
      this.opts.onDroppedLog?.();
      return null;
    }
    this.logs++;
    let { message, fields } = event;
    if (message.length > MAX_MESSAGE_CHARS) message = `${cutAt(message, MAX_MESSAGE_CHARS)}… (cut)`;
    if (fields) {
      const size = safeLength(fields);
      if (size > MAX_FIELDS_CHARS) fields = { cut: `fields of ${size} characters not kept` };
    }
    return { ...event, message, ...(fields ? { fields } : {}) };
  }

  private limitNotice(): RunEvent {
    return {
      type: 'step.log',
      at: Date.now(),
      level: 'warn',
      message: `log limit of ${this.opts.maxLogEvents} lines reached: ${this.dropped} more lines were not kept`,
    };
  }
}

/** The first `max` UTF-16 units of `text`, one fewer rather than half a character (an emoji's pair). */
function cutAt(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function safeLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}
