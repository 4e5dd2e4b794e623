import type ivm from 'isolated-vm';
import { HARNESS_SOURCE } from './harness.ts';

/**
 * Idle isolates kept per memory limit; more are disposed when they come back. At least a worker's
 * concurrency: fewer, and a busy worker creates (and disposes) an isolate for most step
 * executions, which costs more than everything else a small script step does. An idle isolate
 * holds about 1 MB and goes after IDLE_ISOLATE_MS.
 */
export const MAX_IDLE_ISOLATES = 64;
/** An idle isolate unused this long is disposed. */
export const IDLE_ISOLATE_MS = 30_000;
/**
 * Pages an isolate serves at most before it is retired, whatever its heap looks like. A new
 * isolate and context cost about 8 ms: retiring every 500 pages was a fifth of a one-record script
 * step's CPU, so the heap check below is what retires isolates in practice.
 */
export const MAX_ISOLATE_USES = 20_000;
/** Every this many uses, an isolate's heap is looked at when it comes back. */
export const HEAP_CHECK_EVERY = 250;
/** An isolate whose used heap is above this share of its memory limit is retired then. */
export const RETIRE_HEAP_SHARE = 0.5;
/** Ready contexts kept per isolate, by script text. */
const MAX_CONTEXTS = 16;

/** The harness' entry points in a context. */
export type HarnessRefs = Record<'bind' | 'load' | 'run' | 'collect' | 'rewind' | 'runPage', ivm.Reference>;

/** A context with the harness run (and the built-ins locked down) and one script installed. */
export interface ReadyContext {
  context: ivm.Context;
  harness: HarnessRefs;
  /** Index of the record being run, written by the harness; readable after the isolate dies. */
  progress: Int32Array;
}

/**
 * An isolate lent to one page of a step execution at a time. A context is made once per script
 * text and then serves that script's later step executions in this isolate: the harness locked its
 * built-ins and global object down, so a run cannot leave state behind for the next one, and
 * each execution binds its own params and steps. A new context costs about half a millisecond
 * and, in garbage, a few hundred kilobytes of built-ins; reuse saves both. Code running in one
 * context cannot reach another context's objects: no reference crosses between them.
 */
export class PooledIsolate {
  readonly isolate: ivm.Isolate;
  readonly memoryMb: number;
  /** The harness, compiled once and run in each new context. */
  readonly harness: ivm.Script;
  uses = 0;
  idleTimer: NodeJS.Timeout | undefined;
  private readonly contexts = new Map<string, ReadyContext>();

  constructor(vm: typeof ivm, memoryMb: number) {
    this.memoryMb = memoryMb;
    this.isolate = new vm.Isolate({ memoryLimit: memoryMb });
    try {
      this.harness = this.isolate.compileScriptSync(HARNESS_SOURCE, { filename: 'junction-harness.js' });
    } catch (e) {
      this.isolate.dispose();
      throw e;
    }
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  /** Whether its heap holds more than RETIRE_HEAP_SHARE of its limit (what contexts and scripts left). */
  heapFull(): boolean {
    try {
      const heap = this.isolate.getHeapStatisticsSync();
      const used = heap.used_heap_size + heap.externally_allocated_size;
      return used > RETIRE_HEAP_SHARE * this.memoryMb * 2 ** 20;
    } catch {
      return true;
    }
  }

  newContext(): Promise<ivm.Context> {
    return this.isolate.createContext();
  }

  /** The ready context of this script text, taken out of the cache (so no one else gets it). */
  takeContext(source: string): ReadyContext | undefined {
    const ready = this.contexts.get(source);
    this.contexts.delete(source);
    return ready;
  }

  /** Keeps a context for the next execution of its script; the oldest goes past MAX_CONTEXTS. */
  keepContext(source: string, ready: ReadyContext): void {
    const previous = this.contexts.get(source);
    if (previous) releaseContext(previous);
    this.contexts.set(source, ready);
    if (this.contexts.size > MAX_CONTEXTS) {
      const [oldest, evicted] = this.contexts.entries().next().value as [string, ReadyContext];
      this.contexts.delete(oldest);
      releaseContext(evicted);
    }
  }

  dispose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.contexts.clear();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

/** Drops a context and the host's references into it. */
export function releaseContext(ready: ReadyContext): void {
  for (const ref of Object.values(ready.harness)) ref.release();
  ready.context.release();
}

/**
 * Isolates of a runner (the worker: one pool for its life), by memory limit. Creating an isolate
 * costs milliseconds and megabytes; a context in an existing one costs far less.
 */
export class IsolatePool {
  readonly vm: typeof ivm;
  private readonly idle = new Map<number, PooledIsolate[]>();
  private readonly lent = new Set<PooledIsolate>();
  private closed = false;
  /** Isolates created so far (each costs milliseconds: a pool that works keeps this low). */
  created = 0;

  constructor(vm: typeof ivm) {
    this.vm = vm;
  }

  /** An idle isolate with this memory limit, or a new one. */
  take(memoryMb: number): PooledIsolate {
    if (this.closed) throw new Error('the isolate pool is closed');
    const list = this.idle.get(memoryMb);
    let pooled: PooledIsolate | undefined;
    while (list && list.length > 0 && !pooled) {
      const candidate = list.pop() as PooledIsolate;
      if (candidate.idleTimer) clearTimeout(candidate.idleTimer);
      candidate.idleTimer = undefined;
      if (!candidate.disposed) pooled = candidate;
    }
    if (!pooled) {
      pooled = new PooledIsolate(this.vm, memoryMb);
      this.created++;
    }
    pooled.uses++;
    this.lent.add(pooled);
    return pooled;
  }

  /** Takes an isolate back (disposed ones, and ones past their uses or the idle limit, are dropped). */
  give(pooled: PooledIsolate): void {
    this.lent.delete(pooled);
    if (pooled.disposed) return;
    const list = this.idle.get(pooled.memoryMb) ?? [];
    if (
      this.closed ||
      pooled.uses >= MAX_ISOLATE_USES ||
      list.length >= MAX_IDLE_ISOLATES ||
      (pooled.uses % HEAP_CHECK_EVERY === 0 && pooled.heapFull())
    ) {
      pooled.dispose();
      return;
    }
    list.push(pooled);
    this.idle.set(pooled.memoryMb, list);
    pooled.idleTimer = setTimeout(() => {
      const at = list.indexOf(pooled);
      if (at >= 0) list.splice(at, 1);
      pooled.dispose();
    }, IDLE_ISOLATE_MS);
    pooled.idleTimer.unref();
  }

  /** Disposes every isolate, idle or lent (a script still running in one is stopped). */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const pooled of list.splice(0)) pooled.dispose();
    for (const pooled of this.lent) pooled.dispose();
    this.lent.clear();
  }
}
