import type { OperationContext } from '@junction/flow';
import type { IsolatePool } from './isolate-pool.ts';
import { openIsolatePool, ScriptSandbox, type SandboxOptions } from './sandbox.ts';

/** Ends a session left unused this long (the step has most likely ended). */
export const IDLE_DISPOSE_MS = 30_000;

/**
 * The sandbox of one step execution (a context in a pooled isolate). script.run releases it after
 * each page (the isolate goes back to the pool with the script's context cached in it, so the
 * next page usually gets both back); a sandbox kept across pages is ended (the context dropped
 * or cached, the isolate back in the pool) when the engine reports the step finished, or else
 * whichever comes first: the runner's shared resources closing,
 * IDLE_DISPOSE_MS without a page, or the step's context being garbage collected. A memory-limit
 * failure or the call's signal aborting disposes the isolate itself (a later page gets a new
 * one). Pages of one step are run one at a time.
 */
export class ScriptSession {
  private sandbox: ScriptSandbox | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | undefined;
  private closed = false;

  /** Runs `work` after the pages before it, with the idle timer paused. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      this.pauseIdle();
      try {
        return await work();
      } finally {
        this.armIdle();
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * The live sandbox, created (and registered for shutdown) when there is none. Synchronous once
   * the runner's isolate pool is open and the isolate has the script's context ready: the page's
   * calls then follow with nothing else running in between (see ScriptSandbox.create).
   */
  acquire(ctx: OperationContext, options: SandboxOptions): ScriptSandbox | Promise<ScriptSandbox> {
    if (this.closed) throw new Error('the script session is closed');
    const current = this.sandbox;
    if (current && !current.disposed && sameScript(current.options, options)) return current;
    current?.close();
    const live = liveSandboxes(ctx);
    const pool = isolatePool(ctx);
    const openLive = settledValue(live);
    const openPool = settledValue(pool);
    if (openLive && openPool) {
      const created = ScriptSandbox.create(options, openPool);
      if (!(created instanceof Promise)) return this.adopt(created, openLive);
      return created.then((sandbox) => this.adopt(sandbox, openLive));
    }
    return this.acquireOpening(options, live, pool);
  }

  private async acquireOpening(
    options: SandboxOptions,
    livePromise: Promise<Set<ScriptSandbox>>,
    poolPromise: Promise<IsolatePool>,
  ): Promise<ScriptSandbox> {
    const [live, pool] = await Promise.all([livePromise, poolPromise]);
    settled.set(livePromise, live);
    settled.set(poolPromise, pool);
    return this.adopt(await ScriptSandbox.create(options, pool), live);
  }

  private adopt(sandbox: ScriptSandbox, live: Set<ScriptSandbox>): ScriptSandbox {
    this.sandbox = sandbox;
    live.add(sandbox);
    sandbox.onDispose(() => {
      live.delete(sandbox);
      if (this.sandbox === sandbox) this.sandbox = undefined;
    });
    return sandbox;
  }

  /** Disposes the isolate now, stopping a script running in it (cancel). */
  kill(): void {
    this.sandbox?.dispose();
  }

  /** Ends the sandbox normally; a later page creates a new one unless the session is closed. */
  release(): void {
    this.sandbox?.close();
  }

  close(): void {
    this.closed = true;
    this.pauseIdle();
    this.release();
  }

  /** The step ended: closes once the page running (if any) is done. */
  finish(): void {
    void this.tail.then(() => this.close());
  }

  private pauseIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
  }

  private armIdle(): void {
    this.pauseIdle();
    if (!this.sandbox || this.closed) return;
    this.idle = setTimeout(() => this.release(), IDLE_DISPOSE_MS);
    this.idle.unref();
  }
}

function sameScript(a: SandboxOptions, b: SandboxOptions): boolean {
  return (
    a.code === b.code &&
    a.mode === b.mode &&
    a.memoryMb === b.memoryMb &&
    a.timeoutMs === b.timeoutMs &&
    a.paramsJson === b.paramsJson &&
    a.stepsJson === b.stepsJson
  );
}

/**
 * The values of the runner's shared resources (sandbox set, isolate pool) once their promise has
 * settled, by that promise (ctx.shared answers the same promise for the runner's life), so later
 * acquires need not wait a turn of the event loop for them.
 */
const settled = new WeakMap<Promise<unknown>, unknown>();

function settledValue<T>(promise: Promise<T>): T | undefined {
  return settled.get(promise) as T | undefined;
}

/** Every live sandbox of the runner, disposed when the runner closes its shared resources. */
function liveSandboxes(ctx: OperationContext): Promise<Set<ScriptSandbox>> {
  return ctx.shared(
    'sandboxes',
    async () => new Set<ScriptSandbox>(),
    async (set) => {
      for (const sandbox of [...set]) sandbox.dispose();
    },
  );
}

/** The runner's isolates (the worker's shared resources live as long as the worker). */
function isolatePool(ctx: OperationContext): Promise<IsolatePool> {
  return ctx.shared('isolates', openIsolatePool, async (pool) => pool.close());
}

// One session per step execution. The engine may give each call a copy of the context (with the
// call's own signal), but all copies share the step's compile function, so that is the key.
const sessions = new WeakMap<object, ScriptSession>();
const collected = new FinalizationRegistry<ScriptSession>((session) => session.close());

export function sessionFor(ctx: OperationContext): ScriptSession {
  const key = ctx.compile;
  let session = sessions.get(key);
  if (!session) {
    const created = new ScriptSession();
    session = created;
    sessions.set(key, created);
    collected.register(key, created);
    ctx.onFinish?.(() => created.finish());
  }
  return session;
}
