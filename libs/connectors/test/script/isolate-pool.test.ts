import { afterEach, describe, expect, it } from 'vitest';
import { SharedResources } from '@junction/engine';
import type { IsolatePool } from '../../src/script/isolate-pool.ts';
import { opContext, type TestContext } from '../support/op-context.ts';
import { runTestFlow } from '../support/run-test-flow.ts';
import { runScript } from '../support/script-run.ts';

// The runner (the worker) keeps a pool of isolates in its shared resources; each step execution
// gets a fresh context in a borrowed isolate and gives the isolate back when the step ends.

const runners: TestContext[] = [];
afterEach(async () => {
  for (const ctx of runners.splice(0)) await ctx.closeShared();
});

interface Step {
  ctx: TestContext;
  finish(): void;
}

/** A step execution of `runner`: its own compile function (the session key) and onFinish. */
function step(runner: TestContext): Step {
  const listeners: (() => void)[] = [];
  const ctx: TestContext = {
    ...runner,
    compile: (source, options) => runner.compile(source, options),
    onFinish: (listener) => void listeners.push(listener),
  };
  return { ctx, finish: () => listeners.splice(0).forEach((l) => l()) };
}

function poolOf(runner: TestContext): Promise<IsolatePool> {
  return runner.shared<IsolatePool>(
    'isolates',
    () => Promise.reject(new Error('no pool yet')),
    async () => undefined,
  );
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('script isolate pool', () => {
  it('reuses one isolate for step executions that follow each other, each with fresh, hardened globals', async () => {
    const runner = opContext();
    runners.push(runner);
    const code = [
      'const clean = ({}).polluted === undefined && typeof globalThis.seen === "undefined";',
      'Object.prototype.polluted = 1; globalThis.seen = true; globalThis.WebAssembly = {};',
      'return { clean, wasm: typeof WebAssembly, resize: typeof ArrayBuffer.prototype.resize };',
    ].join('\n');
    for (let i = 0; i < 5; i++) {
      const s = step(runner);
      const result = await runScript({ code }, [{}], s.ctx);
      expect(result.records).toEqual([{ clean: true, wasm: 'object', resize: 'undefined' }]);
      s.finish();
      await settle();
    }
    const last = step(runner);
    const fresh = await runScript({ code: 'return { wasm: typeof WebAssembly };' }, [{}], last.ctx);
    expect(fresh.records).toEqual([{ wasm: 'undefined' }]);
    expect((await poolOf(runner)).created).toBe(1);
  });

  it('needs one isolate for a stream of finished step executions', async () => {
    const runner = opContext();
    runners.push(runner);
    for (let i = 0; i < 20; i++) {
      const s = step(runner);
      expect((await runScript({ code: 'return { i: record.i };' }, [{ i }], s.ctx)).records).toEqual([{ i }]);
      s.finish();
      await settle();
    }
    expect((await poolOf(runner)).created).toBe(1);
  });

  it('gives step executions that overlap their own isolates', async () => {
    const runner = opContext();
    runners.push(runner);
    const a = step(runner);
    const b = step(runner);
    const code = 'globalThis.n = (globalThis.n || 0) + 1; return { n: globalThis.n };';
    await runScript({ code }, [{}], a.ctx);
    expect((await runScript({ code }, [{}], b.ctx)).records).toEqual([{ n: 1 }]);
    expect((await runScript({ code }, [{}], a.ctx)).records).toEqual([{ n: 2 }]);
    expect((await poolOf(runner)).created).toBe(2);
  });

  it('replaces an isolate that hit its memory limit, and the next step execution runs in a new one', async () => {
    const runner = opContext();
    runners.push(runner);
    const bomb = step(runner);
    const result = await runScript(
      {
        code: 'const a = []; while (true) a.push(new Array(100000).fill(1));',
        memoryMb: 16,
        timeoutMs: 20_000,
      },
      [{}],
      bomb.ctx,
    );
    expect(result.errors).toEqual([{ index: 0, message: 'script exceeded its memory limit of 16 MB' }]);
    bomb.finish();
    await settle();
    const next = step(runner);
    expect((await runScript({ code: 'return { ok: 1 };', memoryMb: 16 }, [{}], next.ctx)).records).toEqual([
      { ok: 1 },
    ]);
    expect((await poolOf(runner)).created).toBe(2);
  });

  it('is given back by the engine at the end of each step, so runs of a worker share isolates', async () => {
    const shared = new SharedResources();
    try {
      for (let i = 0; i < 4; i++) {
        const { result } = await runTestFlow(
          {
            steps: [
              { id: 'a', use: 'script.run', with: { code: 'return { n: params.n };' } },
              { id: 'b', use: 'script.run', with: { code: 'return { n: record.n + 1 };' } },
            ],
            params: { n: { type: 'integer' } },
          },
          { params: { n: i }, shared },
        );
        expect(result).toMatchObject({ status: 'completed', output: { n: i + 1 } });
      }
      const pool = await shared.get<IsolatePool>(
        'script:isolates',
        () => Promise.reject(new Error('no pool')),
        async () => undefined,
      );
      // the two steps of a run overlap (pages stream through both); later runs reuse them
      expect(pool.created).toBeLessThanOrEqual(2);
    } finally {
      await shared.closeAll();
    }
  });
});
