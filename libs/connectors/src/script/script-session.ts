import type { OperationContext } from '@junction/flow';
import { ScriptSandbox, type SandboxOptions } from './sandbox.ts';

/** Disposes an isolate left unused this long (the step has most likely ended). */
export const IDLE_DISPOSE_MS = 30_000;

/**
 * The isolate of one step execution, created on its first page and reused for later pages.
 *
 * Disposal is guaranteed by whichever comes first: the run's shared resources closing (the
 * runner's end), IDLE_DISPOSE_MS without a page, the step's context being garbage collected,
 * a memory-limit failure (recreated lazily for the next page), or the call's signal aborting.
 * Pages of one step are run one at a time.
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

  /** The live sandbox, created (and registered for shutdown) when there is none. */
  async acquire(ctx: OperationContext, options: SandboxOptions): Promise<ScriptSandbox> {
    if (this.closed) throw new Error('the script session is closed');
    const current = this.sandbox;
    if (current && !current.disposed && sameScript(current.options, options)) return current;
    current?.dispose();
    const live = await liveSandboxes(ctx);
    const sandbox = await ScriptSandbox.create(options);
    this.sandbox = sandbox;
    live.add(sandbox);
    sandbox.onDispose(() => {
      live.delete(sandbox);
      if (this.sandbox === sandbox) this.sandbox = undefined;
    });
    return sandbox;
  }

  /** Disposes the sandbox now; a later page creates a new one unless the session is closed. */
  release(): void {
    this.sandbox?.dispose();
  }

  close(): void {
    this.closed = true;
    this.pauseIdle();
    this.release();
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

// One session per step execution. The engine may give each call a copy of the context (with the
// call's own signal), but all copies share the step's compile function, so that is the key.
const sessions = new WeakMap<object, ScriptSession>();
const collected = new FinalizationRegistry<ScriptSession>((session) => session.close());

export function sessionFor(ctx: OperationContext): ScriptSession {
  const key = ctx.compile;
  let session = sessions.get(key);
  if (!session) {
    session = new ScriptSession();
    sessions.set(key, session);
    collected.register(key, session);
  }
  return session;
}
