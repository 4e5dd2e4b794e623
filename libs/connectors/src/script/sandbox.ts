import type ivm from 'isolated-vm';
import { ConfigError, ConnectorError, errorMessage } from '@junction/flow';
import { lazyImport } from '../shared/lazy-import.ts';
import { HARNESS_GLOBAL, HARNESS_INPUT, USER_FILENAME, userScriptSource } from './harness.ts';
import {
  IsolatePool,
  releaseContext,
  type HarnessRefs,
  type PooledIsolate,
  type ReadyContext,
} from './isolate-pool.ts';

export type ScriptMode = 'perRecord' | 'perPage';

export interface SandboxOptions {
  code: string;
  mode: ScriptMode;
  memoryMb: number;
  timeoutMs: number;
  /** `params` and `steps` bindings as JSON text, copied in once and frozen inside. */
  paramsJson: string;
  stepsJson: string;
}

/** Why a call into the isolate did not return. */
export type CallFailure =
  | { kind: 'timeout' }
  | { kind: 'memory' }
  /** Disposed from outside (cancel, shutdown) while running. */
  | { kind: 'disposed' }
  | { kind: 'other'; message: string };

/** Imported on the first script run, so flows without scripts never load it. */
const loadIsolatedVm = lazyImport<typeof ivm>(() => import('isolated-vm').then((m) => m.default));

// Harness calls that run no user code get this much time (the built-ins they use are locked down,
// so they take microseconds to milliseconds; the limit is a backstop).
const HARNESS_TIMEOUT_MS = 5_000;

/**
 * User code runs in synchronous calls of at most this long, until one of its records (or pages)
 * needs more: then that record runs again in an asynchronous call with the script's whole time
 * limit, and the script's later calls are asynchronous for SLOW_SCRIPT_MS. A synchronous call
 * holds the host's event loop for its duration, but an asynchronous one costs ~60 µs of CPU
 * (the isolate moves to a thread of the pool and back) against ~5 µs: more than the rest of a
 * small script's step. A slice is wall time, so a script is only taken for slow when the thread
 * spent at least half the slice on the CPU. Running a record again is invisible: the context's
 * built-ins and bindings are frozen, its console lines are dropped (rewind) and the page is
 * loaded afresh.
 */
export const SYNC_SLICE_MS = 10;
const SLOW_SCRIPT_MS = 60_000;

/** The runner's isolate pool (isolated-vm is imported on first use); closed with the runner. */
export async function openIsolatePool(): Promise<IsolatePool> {
  try {
    return new IsolatePool(await loadIsolatedVm());
  } catch (e) {
    throw new ConnectorError(`the script sandbox could not start: ${errorMessage(e)}`, {
      retryable: false,
      cause: e,
    });
  }
}

/**
 * One script of one step execution, in an isolate borrowed from the runner's pool (which gives
 * the memory limit), in a context of its own globals (only the JavaScript built-ins: no process,
 * require, import, timers, fetch or file system), with a time limit per call. The context is
 * the script's ready one when the isolate has it (see PooledIsolate), else a new one. The host
 * passes records in as JSON text and reads results back as JSON text.
 */
export class ScriptSandbox {
  readonly options: SandboxOptions;
  private readonly pool: IsolatePool;
  private readonly pooled: PooledIsolate;
  private readonly source: string;
  private readonly ready: ReadyContext;
  private disposeListeners: (() => void)[] = [];
  /** The page loaded last, as JSON text: loaded again after a call cut short. */
  private page: string | undefined;
  /** The record a synchronous slice was cut short on: its next run is asynchronous. */
  private cutAt = -1;
  private done = false;
  /** Cleared by any failed call: a context whose run was cut short is not used again. */
  private reusable = true;

  private constructor(
    options: SandboxOptions,
    pool: IsolatePool,
    pooled: PooledIsolate,
    source: string,
    ready: ReadyContext,
  ) {
    this.options = options;
    this.pool = pool;
    this.pooled = pooled;
    this.source = source;
    this.ready = ready;
  }

  /**
   * Borrows an isolate, takes the script's ready context in it or makes one (a syntax error is a
   * ConfigError naming `with.code`), and binds this execution's params and steps. Synchronous
   * when the isolate has the script's context ready (the usual case): nothing else runs between
   * borrowing the isolate and the calls that follow, so concurrent runs share a few hot
   * isolates rather than each holding one of its own.
   */
  static create(options: SandboxOptions, pool: IsolatePool): ScriptSandbox | Promise<ScriptSandbox> {
    let pooled: PooledIsolate;
    try {
      pooled = pool.take(options.memoryMb);
    } catch (e) {
      throw new ConnectorError(`the script sandbox could not start: ${errorMessage(e)}`, {
        retryable: true,
        cause: e,
      });
    }
    const source = userScriptSource(options.code, options.mode);
    const ready = pooled.takeContext(source);
    if (ready) {
      try {
        return ScriptSandbox.bound(options, pool, pooled, source, ready);
      } catch (e) {
        throw startFailure(e, options, pool, pooled, ready, undefined);
      }
    }
    return ScriptSandbox.createInNewContext(options, pool, pooled, source);
  }

  private static async createInNewContext(
    options: SandboxOptions,
    pool: IsolatePool,
    pooled: PooledIsolate,
    source: string,
  ): Promise<ScriptSandbox> {
    let context: ivm.Context | undefined;
    let ready: ReadyContext | undefined;
    try {
      context = await pooled.newContext();
      ready = await prepare(pool, pooled, context, source, options);
      return ScriptSandbox.bound(options, pool, pooled, source, ready);
    } catch (e) {
      throw startFailure(e, options, pool, pooled, ready, context);
    }
  }

  /** Binds this execution's params and steps in the ready context. */
  private static bound(
    options: SandboxOptions,
    pool: IsolatePool,
    pooled: PooledIsolate,
    source: string,
    ready: ReadyContext,
  ): ScriptSandbox {
    ready.harness.bind.applySync(undefined, [options.paramsJson, options.stepsJson], {
      timeout: HARNESS_TIMEOUT_MS,
      arguments: { copy: true },
    });
    return new ScriptSandbox(options, pool, pooled, source, ready);
  }

  get disposed(): boolean {
    return this.done || this.pooled.disposed;
  }

  /** Index of the record the last run was working on (valid even after the isolate was disposed). */
  get progress(): number {
    return this.ready.progress[0];
  }

  /**
   * Copies a page (JSON text) into the isolate; returns the number of records. Synchronous: only
   * the harness runs (JSON.parse of host data), so it takes a fraction of an asynchronous call.
   */
  load(json: string): number {
    this.page = json;
    return this.callSync<number>(this.ready.harness.load, [json], HARNESS_TIMEOUT_MS);
  }

  /**
   * Runs records [start, end) with the script's time limit; returns the harness' JSON text, which
   * may stop before `end` (a call stops starting records after half its budget). A synchronous
   * slice returns (or throws) at once; an asynchronous call returns a promise.
   */
  run(start: number, end: number): string | Promise<string> {
    this.ready.progress[0] = start;
    // the record a slice cut short runs asynchronously, with the script's whole limit
    const cut = start === this.cutAt;
    this.cutAt = -1;
    const slice = cut ? undefined : this.syncSlice();
    if (slice !== undefined) {
      const cpuBefore = threadCpuMs();
      try {
        return this.callSync<string>(this.ready.harness.run, [start, end, slice], slice);
      } catch (error) {
        // the record the call was on needs more than a slice: what finished before it comes back now
        const before = this.resumeAfterSlice(error, slice, this.progress, cpuBefore);
        if (before === undefined) throw toError(error);
        this.cutAt = this.progress;
        return before;
      }
    }
    return this.call<string>(
      this.ready.harness.run,
      [start, end, this.options.timeoutMs],
      this.options.timeoutMs,
    );
  }

  /** After a timeout: the outcomes finished before it, and the console lines. */
  collect(next: number): Promise<string> {
    // asynchronous: results the script returned may run its code (toJSON, getters) when written out
    return this.call<string>(this.ready.harness.collect, [next], HARNESS_TIMEOUT_MS);
  }

  /** perPage: runs the script once over the loaded page. */
  async runPage(): Promise<string> {
    const slice = this.syncSlice();
    if (slice !== undefined) {
      const cpuBefore = threadCpuMs();
      try {
        return this.callSync<string>(this.ready.harness.runPage, [], slice);
      } catch (error) {
        if (this.resumeAfterSlice(error, slice, 0, cpuBefore) === undefined) throw toError(error);
      }
    }
    return this.call<string>(this.ready.harness.runPage, [], this.options.timeoutMs);
  }

  /** The budget of a synchronous call, or undefined when the script's calls are asynchronous now. */
  private syncSlice(): number | undefined {
    const slowUntil = slowScripts.get(this.source);
    if (slowUntil !== undefined) {
      if (slowUntil > Date.now()) return undefined;
      slowScripts.delete(this.source);
    }
    return Math.min(SYNC_SLICE_MS, this.options.timeoutMs);
  }

  /**
   * After a synchronous call failed: when it ran out of its slice (not of the script's own limit),
   * forgets the record it was on (`next`), loads the page afresh for that record's next run and
   * returns the harness' JSON of what finished before it. Undefined: a real failure, handled as
   * any other.
   */
  private resumeAfterSlice(
    error: unknown,
    slice: number,
    next: number,
    cpuBefore: number,
  ): string | undefined {
    if (slice >= this.options.timeoutMs || this.pooled.disposed || !/timed out/i.test(errorMessage(error)))
      return undefined;
    // the slice is wall time: on a busy host the thread may have waited for a core meanwhile,
    // which says nothing of the script. A synchronous call runs on this thread, so its CPU time
    // is the script's (isolated-vm's own isolate.cpuTime counts wall time).
    if (threadCpuMs() - cpuBefore >= slice / 2) markSlow(this.source);
    // a call cut short: this context is not kept for the script's next step execution
    this.reusable = false;
    try {
      const before = this.callSync<string>(this.ready.harness.rewind, [next], HARNESS_TIMEOUT_MS);
      // the record may have changed its own object before it was stopped
      if (this.page !== undefined)
        this.callSync<number>(this.ready.harness.load, [this.page], HARNESS_TIMEOUT_MS);
      return before;
    } catch {
      return undefined;
    }
  }

  /**
   * Disposes the isolate at once (releasing its memory); a call running in it fails with kind
   * 'disposed'. For every abnormal end: memory limit, cancel, a harness that cannot be trusted.
   */
  dispose(): void {
    this.pooled.dispose();
    this.end();
  }

  /** The step execution is over: keeps its context for the script's next one, returns the isolate. */
  close(): void {
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    if (!this.pooled.disposed) {
      if (this.reusable) this.pooled.keepContext(this.source, this.ready);
      else releaseContext(this.ready);
    }
    this.pool.give(this.pooled);
    const listeners = this.disposeListeners;
    this.disposeListeners = [];
    for (const l of listeners) l();
  }

  onDispose(listener: () => void): void {
    this.disposeListeners.push(listener);
  }

  /** Classifies an error from a call, disposing the isolate when it cannot be trusted any more. */
  failure(error: unknown): CallFailure {
    this.reusable = false;
    const message = errorMessage(error);
    if (/memory limit/i.test(message)) {
      this.dispose();
      return { kind: 'memory' };
    }
    if (/timed out/i.test(message)) return { kind: 'timeout' };
    if (this.pooled.disposed || /isolate (is|was) disposed/i.test(message)) {
      this.dispose();
      return { kind: 'disposed' };
    }
    return { kind: 'other', message };
  }

  /** A call on this thread: a fraction of an asynchronous call's thread hops, and it holds the event loop. */
  private callSync<T>(fn: ivm.Reference, args: unknown[], timeout: number): T {
    return fn.applySync(undefined, args as never[], {
      timeout,
      arguments: { copy: true },
      result: { copy: true },
    }) as T;
  }

  /** A call that runs user code: asynchronous, so the host's event loop goes on meanwhile. */
  private async call<T>(fn: ivm.Reference, args: unknown[], timeout: number): Promise<T> {
    const result: unknown = await fn.apply(undefined, args as never[], {
      timeout,
      arguments: { copy: true },
      result: { copy: true },
    });
    return result as T;
  }
}

/**
 * Runs the harness in a new context (hardening and lockdown) and installs the script: compiled,
 * then run to define its function (and whatever the code does at its top level, within the
 * script's time limit).
 */
async function prepare(
  pool: IsolatePool,
  pooled: PooledIsolate,
  context: ivm.Context,
  source: string,
  options: SandboxOptions,
): Promise<ReadyContext> {
  // Only the harness runs until the script is installed: short synchronous calls.
  const progress = new SharedArrayBuffer(4);
  const global = context.global;
  global.setSync(HARNESS_INPUT.progress, new pool.vm.ExternalCopy(progress).copyInto());
  pooled.harness.runSync(context, { timeout: HARNESS_TIMEOUT_MS });
  let script: ivm.Script;
  try {
    script = pooled.isolate.compileScriptSync(source, { filename: USER_FILENAME, lineOffset: -1 });
  } catch (e) {
    throw syntaxError(e);
  }
  try {
    await script.run(context, { timeout: options.timeoutMs });
  } catch (e) {
    throw new ConfigError(`with.code: the script failed while loading: ${errorMessage(e)}`, { cause: e });
  } finally {
    script.release();
  }
  const ref = global.getSync(HARNESS_GLOBAL, { reference: true });
  const fn = (name: string): ivm.Reference => ref.getSync(name, { reference: true });
  const harness: HarnessRefs = {
    bind: fn('bind'),
    load: fn('load'),
    run: fn('run'),
    collect: fn('collect'),
    rewind: fn('rewind'),
    runPage: fn('runPage'),
  };
  ref.release();
  return { context, harness, progress: new Int32Array(progress) };
}

/**
 * Cleans up after a sandbox that failed to start and says why. A context that failed to start
 * may hold anything: the isolate goes (unless only the user's code is at fault, which the context
 * is dropped for).
 */
function startFailure(
  e: unknown,
  options: SandboxOptions,
  pool: IsolatePool,
  pooled: PooledIsolate,
  ready: ReadyContext | undefined,
  context: ivm.Context | undefined,
): Error {
  const memory = /memory limit/i.test(errorMessage(e));
  if (e instanceof ConfigError && !memory) {
    if (ready) releaseContext(ready);
    else context?.release();
  } else pooled.dispose();
  pool.give(pooled);
  if (e instanceof ConfigError) return e;
  if (memory)
    return new ConfigError(
      `script exceeded its memory limit of ${options.memoryMb} MB while starting: params and steps do not fit (raise memoryMb)`,
      { cause: e },
    );
  return new ConnectorError(`the script sandbox could not start: ${errorMessage(e)}`, {
    retryable: true,
    cause: e,
  });
}

/** `Unexpected token '}' [with.code:3:5]` → `with.code: syntax error at line 3, column 5: Unexpected token '}'`. */
function syntaxError(e: unknown): ConfigError {
  const message = errorMessage(e);
  const m = /^(.*?)\s*\[with\.code:(\d+):(\d+)\]\s*$/s.exec(message);
  if (!m) return new ConfigError(`with.code: syntax error: ${message}`, { cause: e });
  return new ConfigError(`with.code: syntax error at line ${m[2]}, column ${m[3]}: ${m[1]}`, { cause: e });
}

function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1_000;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Scripts that needed more than a synchronous slice, with when their calls may be synchronous again. */
const slowScripts = new Map<string, number>();
const SLOW_SCRIPTS_MAX = 1_000;

/** Whether this script's calls are asynchronous now (it needed more than a slice of CPU lately). */
export function isSlowScript(code: string, mode: SandboxOptions['mode']): boolean {
  return (slowScripts.get(userScriptSource(code, mode)) ?? 0) > Date.now();
}

function markSlow(source: string): void {
  slowScripts.delete(source);
  slowScripts.set(source, Date.now() + SLOW_SCRIPT_MS);
  if (slowScripts.size > SLOW_SCRIPTS_MAX) slowScripts.delete(slowScripts.keys().next().value ?? '');
}
