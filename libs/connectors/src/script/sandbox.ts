import type ivm from 'isolated-vm';
import { ConfigError, ConnectorError, errorMessage } from '@junction/flow';
import { lazyImport } from '../shared/lazy-import.ts';
import { HARNESS_GLOBAL, HARNESS_INPUT, USER_FILENAME, userScriptSource } from './harness.ts';
import { IsolatePool, type PooledIsolate } from './isolate-pool.ts';

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

// Harness calls that run no user code get this much time: a script may have replaced
// Array.prototype.join or the like and made them slow, but never longer than this.
const HARNESS_TIMEOUT_MS = 5_000;

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
 * One script of one step execution: a fresh context (its own globals, only the JavaScript
 * built-ins: no process, require, import, timers, fetch or file system) in an isolate borrowed
 * from the runner's pool, which gives the memory limit; a time limit per call. The host passes
 * records in as JSON text and reads results back as JSON text.
 */
export class ScriptSandbox {
  readonly options: SandboxOptions;
  private readonly pool: IsolatePool;
  private readonly pooled: PooledIsolate;
  private readonly context: ivm.Context;
  private readonly harness: {
    load: ivm.Reference;
    run: ivm.Reference;
    collect: ivm.Reference;
    runPage: ivm.Reference;
  };
  /** Index of the record being run, written by the harness; readable after the isolate dies. */
  private readonly progressView: Int32Array;
  private disposeListeners: (() => void)[] = [];
  private done = false;

  private constructor(
    options: SandboxOptions,
    pool: IsolatePool,
    pooled: PooledIsolate,
    context: ivm.Context,
    harness: ScriptSandbox['harness'],
    progress: Int32Array,
  ) {
    this.options = options;
    this.pool = pool;
    this.pooled = pooled;
    this.context = context;
    this.harness = harness;
    this.progressView = progress;
  }

  /**
   * Borrows an isolate, makes a context in it and installs the script (compiled once per isolate
   * and code text); a syntax error is a ConfigError naming `with.code`.
   */
  static async create(options: SandboxOptions, pool: IsolatePool): Promise<ScriptSandbox> {
    let pooled: PooledIsolate;
    try {
      pooled = pool.take(options.memoryMb);
    } catch (e) {
      throw new ConnectorError(`the script sandbox could not start: ${errorMessage(e)}`, {
        retryable: true,
        cause: e,
      });
    }
    const isolate = pooled.isolate;
    let context: ivm.Context | undefined;
    try {
      context = await pooled.newContext();
      // The rest of the setup runs only the harness (no user code): short synchronous calls.
      const progress = new SharedArrayBuffer(4);
      const global = context.global;
      global.setSync(HARNESS_INPUT.progress, new pool.vm.ExternalCopy(progress).copyInto());
      global.setSync(HARNESS_INPUT.params, options.paramsJson);
      global.setSync(HARNESS_INPUT.steps, options.stepsJson);
      pooled.harness.runSync(context, { timeout: HARNESS_TIMEOUT_MS });
      const source = userScriptSource(options.code, options.mode);
      let script: ivm.Script;
      try {
        script = pooled.script(source, () =>
          isolate.compileScriptSync(source, { filename: USER_FILENAME, lineOffset: -1 }),
        );
      } catch (e) {
        throw syntaxError(e);
      }
      // Defines and installs the function without calling it (unless the code closes the
      // wrapper early and runs something at the top level: that gets the script's time limit).
      try {
        await script.run(context, { timeout: options.timeoutMs });
      } catch (e) {
        throw new ConfigError(`with.code: the script failed while loading: ${errorMessage(e)}`, { cause: e });
      }
      const ref = global.getSync(HARNESS_GLOBAL, { reference: true });
      const fn = (name: string): ivm.Reference => ref.getSync(name, { reference: true });
      const harness = { load: fn('load'), run: fn('run'), collect: fn('collect'), runPage: fn('runPage') };
      ref.release();
      return new ScriptSandbox(options, pool, pooled, context, harness, new Int32Array(progress));
    } catch (e) {
      const memory = /memory limit/i.test(errorMessage(e));
      // A context that failed to start may hold anything: the isolate goes (unless only the
      // user's code is at fault, which a fresh context forgets).
      if (e instanceof ConfigError && !memory) context?.release();
      else pooled.dispose();
      pool.give(pooled);
      if (e instanceof ConfigError) throw e;
      if (memory)
        throw new ConfigError(
          `script exceeded its memory limit of ${options.memoryMb} MB while starting: params and steps do not fit (raise memoryMb)`,
          { cause: e },
        );
      throw new ConnectorError(`the script sandbox could not start: ${errorMessage(e)}`, {
        retryable: true,
        cause: e,
      });
    }
  }

  get disposed(): boolean {
    return this.done || this.pooled.disposed;
  }

  /** Index of the record the last run was working on (valid even after the isolate was disposed). */
  get progress(): number {
    return this.progressView[0];
  }

  /** Copies a page (JSON text) into the isolate; returns the number of records. */
  load(json: string): Promise<number> {
    return this.call<number>(this.harness.load, [json], HARNESS_TIMEOUT_MS);
  }

  /** Runs records [start, end) with the script's time limit; returns the harness' JSON text. */
  run(start: number, end: number): Promise<string> {
    this.progressView[0] = start;
    return this.call<string>(this.harness.run, [start, end, this.options.timeoutMs], this.options.timeoutMs);
  }

  /** After a timeout: the outcomes finished before it, and the console lines. */
  collect(next: number): Promise<string> {
    return this.call<string>(this.harness.collect, [next], HARNESS_TIMEOUT_MS);
  }

  /** perPage: runs the script once over the loaded page. */
  runPage(): Promise<string> {
    return this.call<string>(this.harness.runPage, [], this.options.timeoutMs);
  }

  /**
   * Disposes the isolate at once (releasing its memory); a call running in it fails with kind
   * 'disposed'. For every abnormal end: memory limit, cancel, a harness that cannot be trusted.
   */
  dispose(): void {
    this.pooled.dispose();
    this.end();
  }

  /** The step execution is over: drops its context and returns the isolate to the pool. */
  close(): void {
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    for (const ref of Object.values(this.harness)) ref.release();
    if (!this.pooled.disposed) this.context.release();
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

  private async call<T>(fn: ivm.Reference, args: unknown[], timeout: number): Promise<T> {
    const result: unknown = await fn.apply(undefined, args as never[], {
      timeout,
      arguments: { copy: true },
      result: { copy: true },
    });
    return result as T;
  }
}

/** `Unexpected token '}' [with.code:3:5]` → `with.code: syntax error at line 3, column 5: Unexpected token '}'`. */
function syntaxError(e: unknown): ConfigError {
  const message = errorMessage(e);
  const m = /^(.*?)\s*\[with\.code:(\d+):(\d+)\]\s*$/s.exec(message);
  if (!m) return new ConfigError(`with.code: syntax error: ${message}`, { cause: e });
  return new ConfigError(`with.code: syntax error at line ${m[2]}, column ${m[3]}: ${m[1]}`, { cause: e });
}
