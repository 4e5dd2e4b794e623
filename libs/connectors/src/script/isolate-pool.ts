import type ivm from 'isolated-vm';
import { HARNESS_SOURCE } from './harness.ts';

/** Idle isolates kept per memory limit; more are disposed when they come back. */
export const MAX_IDLE_ISOLATES = 16;
/** An idle isolate unused this long is disposed. */
export const IDLE_ISOLATE_MS = 30_000;
/** Step executions an isolate serves before it is retired (bounds what a heap can accumulate). */
export const MAX_ISOLATE_USES = 500;
/** Compiled user scripts kept per isolate, by code text. */
const MAX_SCRIPTS = 16;

/**
 * An isolate lent to one step execution at a time. Each step execution gets a fresh context in
 * it (its own globals and built-ins, hardened again by the harness), so nothing a script does
 * is seen by the next one; the isolate (its heap, the compiled harness and scripts) is what is
 * reused. Code running in one context cannot reach another context's objects: no reference
 * crosses between them.
 */
export class PooledIsolate {
  readonly isolate: ivm.Isolate;
  readonly memoryMb: number;
  /** The harness, compiled once and run in each new context. */
  readonly harness: ivm.Script;
  uses = 0;
  idleTimer: NodeJS.Timeout | undefined;
  private readonly scripts = new Map<string, ivm.Script>();

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

  /** A new context (about 2 ms of V8 work: still far less than a new isolate). */
  newContext(): Promise<ivm.Context> {
    return this.isolate.createContext();
  }

  /** The user's wrapped script compiled in this isolate, once per distinct text (a syntax error throws). */
  script(source: string, compile: () => ivm.Script): ivm.Script {
    const cached = this.scripts.get(source);
    if (cached) {
      this.scripts.delete(source);
      this.scripts.set(source, cached);
      return cached;
    }
    const script = compile();
    this.scripts.set(source, script);
    if (this.scripts.size > MAX_SCRIPTS) {
      const [oldest, evicted] = this.scripts.entries().next().value as [string, ivm.Script];
      this.scripts.delete(oldest);
      evicted.release();
    }
    return script;
  }

  dispose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.scripts.clear();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
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
    if (this.closed || pooled.uses >= MAX_ISOLATE_USES || list.length >= MAX_IDLE_ISOLATES) {
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
