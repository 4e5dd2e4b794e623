import type { Page } from '@junction/flow';
import type { Block } from './block.ts';

export type PageStream = AsyncIterable<Page>;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Runs one stage of a pipeline ahead of its consumer: while the next stage works on page k, this
 * one already produces page k+1 into a buffer of `capacity` pages, and waits when the buffer is
 * full (backpressure). So a read → map → write chain runs at the pace of its slowest stage, not
 * the sum of them, with a bounded number of pages in memory.
 *
 * Stopping the pump (return(), when its consumer stops early) aborts the producing stage's
 * block, so a stage blocked in I/O stops promptly. The pump loop never rejects: a producer error
 * is handed to the consumer after the pages before it.
 */
export class PagePump implements AsyncIterableIterator<Page> {
  private readonly source: PageStream;
  private readonly producer: Block;
  private readonly owner: Block;
  private readonly capacity: number;
  private readonly queue: Page[] = [];
  private started = false;
  private ended = false;
  private stopped = false;
  private failure: { error: unknown } | undefined;
  private consumer: { resolve(r: IteratorResult<Page>): void; reject(e: unknown): void } | undefined;
  private wakeProducer: (() => void) | undefined;

  /**
   * @param producer the block of the stage producing the pages (aborted when the pump stops early)
   * @param owner the block the pump runs in (waits for the pump in settle())
   */
  constructor(source: PageStream, producer: Block, owner: Block, capacity = 1) {
    this.source = source;
    this.producer = producer;
    this.owner = owner;
    this.capacity = capacity;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Page>> {
    if (!this.started) this.start();
    const page = this.queue.shift();
    if (page !== undefined) {
      this.resumeProducer();
      return Promise.resolve({ done: false, value: page });
    }
    if (this.ended) {
      const failure = this.failure;
      this.failure = undefined;
      // the producer's own error, passed on unchanged
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return failure ? Promise.reject(failure.error) : Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => {
      this.consumer = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Page>> {
    if (!this.ended && !this.stopped) {
      this.stopped = true;
      this.queue.length = 0;
      this.producer.abort();
      this.resumeProducer();
    }
    const consumer = this.consumer;
    this.consumer = undefined;
    consumer?.resolve(DONE);
    return Promise.resolve(DONE);
  }

  private start(): void {
    this.started = true;
    this.owner.track(this.loop());
  }

  private async loop(): Promise<void> {
    const it = this.source[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (!this.stopped) {
        const r = await it.next();
        if (r.done) {
          finished = true;
          break;
        }
        if (this.stopped) break;
        this.deliver(r.value);
        while (this.queue.length >= this.capacity && !this.stopped) {
          await new Promise<void>((resolve) => (this.wakeProducer = resolve));
        }
      }
    } catch (error) {
      finished = true;
      if (!this.stopped) this.failure = { error };
    }
    if (!finished) {
      try {
        await it.return?.();
      } catch {
        // stopping: the consumer no longer wants anything from this stage
      }
    }
    this.ended = true;
    this.producer.dispose();
    const consumer = this.consumer;
    if (consumer) {
      this.consumer = undefined;
      const failure = this.failure;
      this.failure = undefined;
      if (failure) consumer.reject(failure.error);
      else consumer.resolve(DONE);
    }
  }

  private deliver(page: Page): void {
    const consumer = this.consumer;
    if (consumer) {
      this.consumer = undefined;
      consumer.resolve({ done: false, value: page });
    } else this.queue.push(page);
  }

  private resumeProducer(): void {
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    wake?.();
  }
}
