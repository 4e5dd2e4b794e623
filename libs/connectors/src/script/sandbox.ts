import ivm from 'isolated-vm';
import { ConfigError, ConnectorError, errorMessage } from '@junction/flow';
import { HARNESS_GLOBAL, HARNESS_INPUT, HARNESS_SOURCE, USER_FILENAME, userScriptSource } from './harness.ts';

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

// Harness calls that run no user code get this much time: a script may have replaced
// Array.prototype.join or the like and made them slow, but never longer than this.
const HARNESS_TIMEOUT_MS = 5_000;

/**
 * One isolate running one script: a fresh V8 heap with only the JavaScript built-ins (no
 * process, require, import, timers, fetch or file system), a memory limit, and a time limit per
 * call. The host passes records in as JSON text and reads results back as JSON text.
 */
export class ScriptSandbox {
  readonly options: SandboxOptions;
  private readonly isolate: ivm.Isolate;
  private readonly harness: {
    load: ivm.Reference;
    run: ivm.Reference;
    collect: ivm.Reference;
    runPage: ivm.Reference;
  };
  /** Index of the record being run, written by the harness; readable after the isolate dies. */
  private readonly progressView: Int32Array;
  private disposeListeners: (() => void)[] = [];

  private constructor(
    options: SandboxOptions,
    isolate: ivm.Isolate,
    harness: ScriptSandbox['harness'],
    progress: Int32Array,
  ) {
    this.options = options;
    this.isolate = isolate;
    this.harness = harness;
    this.progressView = progress;
  }

  /** Creates the isolate and compiles the script; a syntax error is a ConfigError naming `with.code`. */
  static async create(options: SandboxOptions): Promise<ScriptSandbox> {
    const isolate = new ivm.Isolate({ memoryLimit: options.memoryMb });
    try {
      const context = await isolate.createContext();
      const progress = new SharedArrayBuffer(4);
      const global = context.global;
      await global.set(HARNESS_INPUT.progress, new ivm.ExternalCopy(progress).copyInto());
      await global.set(HARNESS_INPUT.params, options.paramsJson);
      await global.set(HARNESS_INPUT.steps, options.stepsJson);
      await context.eval(HARNESS_SOURCE, { timeout: HARNESS_TIMEOUT_MS, filename: 'junction-harness.js' });
      let script: ivm.Script;
      try {
        script = await isolate.compileScript(userScriptSource(options.code, options.mode), {
          filename: USER_FILENAME,
          lineOffset: -1,
        });
      } catch (e) {
        throw syntaxError(e);
      }
      // Defines and installs the function without calling it (unless the code closes the
      // wrapper early and runs something at the top level: that gets the script's time limit).
      try {
        await script.run(context, { timeout: options.timeoutMs });
      } catch (e) {
        throw new ConfigError(`with.code: the script failed while loading: ${errorMessage(e)}`, { cause: e });
      } finally {
        script.release();
      }
      const ref = await global.get(HARNESS_GLOBAL, { reference: true });
      const fn = (name: string): Promise<ivm.Reference> => ref.get(name, { reference: true });
      const harness = {
        load: await fn('load'),
        run: await fn('run'),
        collect: await fn('collect'),
        runPage: await fn('runPage'),
      };
      return new ScriptSandbox(options, isolate, harness, new Int32Array(progress));
    } catch (e) {
      if (!isolate.isDisposed) isolate.dispose();
      if (e instanceof ConfigError) throw e;
      if (/memory limit/i.test(errorMessage(e)))
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
    return this.isolate.isDisposed;
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

  /** Releases the isolate and its memory at once; a call running in it fails with kind 'disposed'. */
  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
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
    if (this.isolate.isDisposed || /isolate (is|was) disposed/i.test(message)) {
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
