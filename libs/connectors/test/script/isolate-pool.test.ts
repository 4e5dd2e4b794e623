import { afterEach, describe, expect, it } from 'vitest';
import { SharedResources } from '@junction/engine';
import {
  HEAP_CHECK_EVERY,
  IsolatePool as IsolatePoolClass,
  type IsolatePool,
} from '../../src/script/isolate-pool.ts';
import { SYNC_SLICE_MS } from '../../src/script/sandbox.ts';
import { opContext, type TestContext } from '../support/op-context.ts';
import { runTestFlow } from '../support/run-test-flow.ts';
import { runScript } from '../support/script-run.ts';

// The runner (the worker) keeps a pool of isolates in its shared resources; each page of a step
// execution borrows one and gives it back when the page is done. A context is made once per script text and
// isolate, locked down so that nothing one execution does is seen by the next.

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
  it('reuses one isolate and context for step executions of a script, with nothing carried over', async () => {
    const runner = opContext();
    runners.push(runner);
    const code = [
      'const clean = ({}).polluted === undefined && typeof globalThis.seen === "undefined" &&',
      '  typeof WebAssembly === "undefined" && RegExp.$1 === undefined && [1].map((x) => x)[0] === 1;',
      '/(s)ecret/.exec("a secret");',
      'const refused = [',
      '  () => { Object.prototype.polluted = 1; },',
      '  () => { globalThis.seen = true; },',
      '  () => { globalThis.WebAssembly = {}; },',
      '  () => { Array.prototype.map = null; },',
      '  () => { Object.getPrototypeOf([][Symbol.iterator]()).next = null; },',
      '].map((attempt) => { try { attempt(); return false; } catch (e) { return e instanceof TypeError; } });',
      'return { clean, refused, n: params.n, resize: typeof ArrayBuffer.prototype.resize };',
    ].join('\n');
    for (let n = 0; n < 5; n++) {
      const s = step({ ...runner, bindings: { ...runner.bindings, params: { n } } });
      const result = await runScript({ code }, [{}], s.ctx);
      expect(result.records).toEqual([
        { clean: true, refused: [true, true, true, true, true], n, resize: 'undefined' },
      ]);
      s.finish();
      await settle();
    }
    expect((await poolOf(runner)).created).toBe(1);
  });

  it('lets scripts assign inherited built-in names on their own objects', async () => {
    const runner = opContext();
    runners.push(runner);
    const code = [
      'class BadInput extends Error { constructor(m) { super(m); this.name = "BadInput"; } }',
      'const o = { a: 1 }; o.toString = () => "custom"; o.constructor = "c";',
      'const e = new BadInput("x");',
      'return { name: e.name, text: String(o), c: o.constructor, proto: typeof Object.prototype.toString };',
    ].join('\n');
    for (let i = 0; i < 2; i++) {
      const s = step(runner);
      const result = await runScript({ code }, [{}], s.ctx);
      expect(result.records).toEqual([{ name: 'BadInput', text: 'custom', c: 'c', proto: 'function' }]);
      s.finish();
      await settle();
    }
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

  it('serves concurrent step executions of a quick script from one isolate once the pool is open', async () => {
    const runner = opContext();
    runners.push(runner);
    const code = 'return { i: record.i * 2 };';
    // the first one opens the pool and makes the script's context
    const first = step(runner);
    expect((await runScript({ code }, [{ i: 0 }], first.ctx)).records).toEqual([{ i: 0 }]);
    first.finish();
    await settle();
    // 32 at once, as a worker runs them: each page borrows and returns the isolate with no await
    // in between, so none of them needs a second one (each held its own before)
    const steps = Array.from({ length: 32 }, () => step(runner));
    const results = await Promise.all(steps.map((s, i) => runScript({ code }, [{ i }], s.ctx)));
    expect(results.map((r) => r.records)).toEqual(steps.map((_, i) => [{ i: i * 2 }]));
    for (const s of steps) s.finish();
    expect((await poolOf(runner)).created).toBe(1);
  });

  it('gives pages that overlap their own isolates, and pages that follow each other one', async () => {
    const runner = opContext();
    runners.push(runner);
    const a = step(runner);
    const b = step(runner);
    const code = 'return { i: record.i };';
    expect((await runScript({ code }, [{ i: 1 }], a.ctx)).records).toEqual([{ i: 1 }]);
    expect((await runScript({ code }, [{ i: 2 }], b.ctx)).records).toEqual([{ i: 2 }]);
    expect((await runScript({ code }, [{ i: 3 }], a.ctx)).records).toEqual([{ i: 3 }]);
    expect((await poolOf(runner)).created).toBe(1);
    // longer than a slice: each record runs asynchronously, so the two pages run at once
    const slow = `{ const t = Date.now(); while (Date.now() - t < ${SYNC_SLICE_MS * 3}) {} }\nreturn { i: record.i };`;
    const both = await Promise.all([
      runScript({ code: slow }, [{ i: 4 }], a.ctx),
      runScript({ code: slow }, [{ i: 5 }], b.ctx),
    ]);
    expect(both.map((r) => r.records)).toEqual([[{ i: 4 }], [{ i: 5 }]]);
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

describe('isolate retirement', () => {
  it('retires an isolate whose heap holds more than half its limit, at a heap check, and keeps a lean one', async () => {
    const vm = (await import('isolated-vm')).default;
    const pool = new IsolatePoolClass(vm);
    try {
      const lean = pool.take(32);
      const full = pool.take(32);
      // about 20 MB kept alive in a context of the second isolate (a 32 MB limit)
      const context = await full.newContext();
      full.isolate
        .compileScriptSync(
          'globalThis.kept = Array.from({ length: 20 }, () => new Uint8Array(2 ** 20).fill(1));',
        )
        .runSync(context);
      for (const pooled of [lean, full]) pooled.uses = HEAP_CHECK_EVERY;
      pool.give(lean);
      pool.give(full);
      expect(full.disposed).toBe(true);
      expect(lean.disposed).toBe(false);
      // the lean one is lent again rather than a new isolate made
      const created = pool.created;
      expect(pool.take(32)).toBe(lean);
      expect(pool.created).toBe(created);
    } finally {
      pool.close();
    }
  });
});
