import type { FlowRecord, Page } from '@junction/flow';
import type { PageStream } from './pipeline.ts';
import { raceSignal } from './signals.ts';

export async function* onePage(record: FlowRecord): PageStream {
  yield [record];
}

/** Given records (a resume, a fallback's input) as pages of at most `size`. */
export async function* pagesOf(records: readonly FlowRecord[], size: number): PageStream {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

/**
 * A stage's view of its input: reads race the stage's signal, so a stage waiting for input stops
 * as soon as it is aborted, and an error that came from upstream is recognisable as such.
 */
export class InputReader {
  private readonly it: AsyncIterator<Page>;
  private readonly signal: AbortSignal;
  private held: Page | undefined;
  private done = false;
  /** The error the input failed with, if it did: a failure upstream, not in this step. */
  failure: unknown;

  constructor(input: PageStream, signal: AbortSignal) {
    this.it = input[Symbol.asyncIterator]();
    this.signal = signal;
  }

  /** The next page, or undefined at the end of the input. */
  async next(): Promise<Page | undefined> {
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      return held;
    }
    if (this.done) return undefined;
    let r: IteratorResult<Page>;
    try {
      r = await raceSignal(this.it.next(), this.signal);
    } catch (error) {
      if (!this.signal.aborted) {
        this.done = true;
        this.failure = error;
      }
      throw error;
    }
    if (r.done) {
      this.done = true;
      return undefined;
    }
    return r.value;
  }

  /** Looks at the next page without consuming it. */
  async peek(): Promise<Page | undefined> {
    const page = await this.next();
    this.held = page;
    return page;
  }

  /** Runs the rest of the input to its end (what a source step does with whatever came before it). */
  async drain(): Promise<{ count: number; first: FlowRecord | undefined }> {
    let count = 0;
    let first: FlowRecord | undefined;
    for (let page = await this.next(); page !== undefined; page = await this.next()) {
      if (first === undefined && page.length > 0) first = page[0];
      count += page.length;
    }
    return { count, first };
  }

  /**
   * The rest of the input as a stream, for a block that takes it over. Not a generator: stopping
   * it must reach upstream at once, even while a read is pending.
   */
  stream(onPage?: (page: Page) => void): PageStream {
    const iterator: AsyncIterableIterator<Page> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        const page = await this.next();
        if (page === undefined) return { done: true, value: undefined };
        onPage?.(page);
        return { done: false, value: page };
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
    return iterator;
  }

  /** Tells upstream to stop when this stage leaves before the end of its input. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.held = undefined;
    await this.it.return?.();
  }
}
