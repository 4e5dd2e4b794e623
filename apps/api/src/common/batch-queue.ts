/**
 * Group commit: items submitted while a batch is being written wait and go together in the next
 * one. Under load the batches grow by themselves; a lone request goes out at once, with no timer.
 * Batches are handled one at a time and in submission order.
 */
export class BatchQueue<T, R> {
  private readonly handle: (items: T[]) => Promise<Array<Promise<R> | R>>;
  private readonly maxBatch: number;
  private pending: Array<{ item: T; resolve: (r: Promise<R> | R) => void; reject: (e: unknown) => void }> =
    [];
  private running = false;

  /**
   * `handle` gets the items of a batch and answers one result (or promise of one) per item, in
   * order; when it throws, every item of the batch fails with that error. The next batch starts
   * when `handle`'s own promise settles, not when the per-item promises do.
   */
  constructor(handle: (items: T[]) => Promise<Array<Promise<R> | R>>, options: { maxBatch?: number } = {}) {
    this.handle = handle;
    this.maxBatch = options.maxBatch ?? 500;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.handle(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i]));
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
