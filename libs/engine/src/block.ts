import { CancelledError } from './errors.ts';

/**
 * An abort scope: a step list, or one step of it. Aborting a block aborts every block under it,
 * so a failure or a cancellation reaches every running operation's signal. A block also tracks
 * the page pumps running in it, so it can wait for them to stop before it reports its outcome.
 */
export class Block {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly tasks = new Set<Promise<void>>();
  private unlink: (() => void) | undefined;

  constructor(parent?: AbortSignal) {
    this.signal = this.controller.signal;
    if (!parent) return;
    if (parent.aborted) {
      this.controller.abort(parent.reason);
      return;
    }
    const onAbort = (): void => this.controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    this.unlink = () => parent.removeEventListener('abort', onAbort);
  }

  child(): Block {
    return new Block(this.signal);
  }

  abort(reason: unknown = new CancelledError('stopped')): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  /** Registers a task that never rejects (a pump loop); settle() waits for it. */
  track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.then(() => this.tasks.delete(task));
  }

  async settle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  /** Stops listening to the parent: blocks are created per step and per loop iteration. */
  dispose(): void {
    this.unlink?.();
    this.unlink = undefined;
  }
}
