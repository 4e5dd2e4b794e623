import type { Redis } from 'ioredis';
import { EVENT_BATCH_FIELD, encodeEventBatch, type JobEventEnvelope } from '@junction/protocol';

export interface EventPublisherOptions {
  /** Longest an event waits in the buffer (default 50 ms). */
  flushIntervalMs?: number;
  /** Events per stream entry; a full buffer flushes at once (default 500). */
  maxBatch?: number;
  /** Approximate cap on stream entries (default 100,000 batches). */
  maxLen?: number;
  /**
   * How long written() waits for other jobs' events before it writes, when no write is in
   * flight (default 0: until the event loop's next turn, so jobs ending in the same turn share).
   */
  groupMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Buffers run events of every job of a worker and writes them to the event stream in batches: one
 * entry per flush, entries pipelined. Progress events (step.stats) of the same step are coalesced
 * within a flush: only the newest one is sent.
 */
export class EventPublisher {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxLen: number;
  private readonly onError: (error: unknown) => void;
  private buffer: Array<JobEventEnvelope | null> = [];
  private size = 0;
  private readonly statsAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly groupMs: number;
  private soon: Promise<void> | undefined;
  private writing = 0;

  constructor(redis: Redis, stream: string, options: EventPublisherOptions = {}) {
    this.redis = redis;
    this.stream = stream;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxLen = options.maxLen ?? 100_000;
    this.groupMs = options.groupMs ?? 0;
    this.onError = options.onError ?? (() => undefined);
  }

  publish(envelope: JobEventEnvelope): void {
    if (envelope.event.type === 'step.stats') {
      const key = `${envelope.jobId}\u0000${envelope.event.stepId}`;
      const previous = this.statsAt.get(key);
      if (previous !== undefined) {
        this.buffer[previous] = null;
        this.size--;
      }
      this.statsAt.set(key, this.buffer.length);
    }
    this.buffer.push(envelope);
    this.size++;
    if (this.size >= this.maxBatch) void this.flush().catch(this.onError);
    else this.timer ??= setTimeout(() => void this.flush().catch(this.onError), this.flushIntervalMs);
  }

  /**
   * Resolves once everything published so far is in the stream. Jobs that end together (a worker
   * runs many) share one stream entry and one round trip, where a flush() per job would cost one
   * each: as in a group commit, what is published while a write is in flight goes in the next
   * write, as soon as that one is done; with none in flight, the write waits groupMs (or the
   * event loop's next turn) for the jobs ending alongside.
   */
  written(): Promise<void> {
    if (this.size === 0) return this.lastWrite;
    if (this.soon) return this.soon;
    const wait =
      this.writing > 0
        ? this.tail
        : new Promise<void>((resolve) => {
            if (this.groupMs > 0) setTimeout(resolve, this.groupMs);
            else setImmediate(resolve);
          });
    this.soon = wait.then(() => {
      this.soon = undefined;
      return this.flush();
    });
    return this.soon;
  }

  /** Writes everything published so far; resolves once it is in the stream. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer.filter((e): e is JobEventEnvelope => e !== null);
    this.buffer = [];
    this.size = 0;
    this.statsAt.clear();
    this.writing++;
    const write = this.tail.then(() => this.write(batch)).finally(() => this.writing--);
    // later flushes wait for this one (stream order = event order) but not for its failure
    this.tail = write.catch(() => undefined);
    this.lastWrite = write;
    return write;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async write(batch: JobEventEnvelope[]): Promise<void> {
    if (batch.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < batch.length; i += this.maxBatch) {
      const chunk = batch.slice(i, i + this.maxBatch);
      pipeline.xadd(this.stream, 'MAXLEN', '~', this.maxLen, '*', EVENT_BATCH_FIELD, encodeEventBatch(chunk));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0] as Error;
  }
}
