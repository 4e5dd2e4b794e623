import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opContext, type TestContext } from '../support/op-context.ts';
import { runScript } from '../support/script-run.ts';

// Every escape attempt is followed by a normal script, in the same step execution and in a new
// one, to show the runner is still healthy.

const contexts: TestContext[] = [];
function context(): TestContext {
  const ctx = opContext();
  contexts.push(ctx);
  return ctx;
}
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.closeShared();
});

async function expectHealthy(ctx?: TestContext): Promise<void> {
  const page = [{ n: 1 }, { n: 2 }];
  const code = 'return { n: record.n * 2 };';
  expect((await runScript({ code }, page, ctx ?? context())).records).toEqual([{ n: 2 }, { n: 4 }]);
  if (ctx) expect((await runScript({ code }, page, context())).records).toEqual([{ n: 2 }, { n: 4 }]);
}

/** The one failure message of a single-record page. */
async function failureOf(
  code: string,
  ctx = context(),
  extra: Record<string, unknown> = {},
): Promise<string> {
  const result = await runScript({ code, ...extra }, [{ id: 1 }], ctx);
  expect(result.records).toEqual([]);
  expect(result.errors).toHaveLength(1);
  return result.errors![0].message;
}

describe('script sandbox: no way out', () => {
  it('has no process', async () => {
    const ctx = context();
    expect(await failureOf('process.exit(1);', ctx)).toBe(
      'ReferenceError: process is not defined (line 1, column 1)',
    );
    expect((await runScript({ code: 'return { t: typeof process };' }, [{}], ctx)).records).toEqual([
      { t: 'undefined' },
    ]);
    await expectHealthy(ctx);
  });

  it('has no require, module or host globals', async () => {
    const ctx = context();
    expect(await failureOf('return require("node:fs").readFileSync("/etc/passwd", "utf8");', ctx)).toBe(
      'ReferenceError: require is not defined (line 1, column 1)',
    );
    const probe = await runScript(
      {
        code: `const names = ['require', 'module', 'exports', '__dirname', 'Buffer', 'global', 'setTimeout', 'setImmediate',
          'queueMicrotask', 'fetch', 'XMLHttpRequest', 'WebSocket', 'Deno', 'Bun', 'process', 'hostSecret', 'WebAssembly'];
        return { present: names.filter((n) => typeof globalThis[n] !== 'undefined') };`,
      },
      [{}],
      ctx,
    );
    expect(probe.records).toEqual([{ present: [] }]);
    await expectHealthy(ctx);
  });

  it('cannot read host globals', async () => {
    const host = globalThis as Record<string, unknown>;
    host.hostSecret = 's3cret';
    try {
      const ctx = context();
      const result = await runScript(
        {
          code: 'return { secret: typeof hostSecret, keys: Object.getOwnPropertyNames(globalThis).filter((k) => /secret|vitest|process/i.test(k)) };',
        },
        [{}],
        ctx,
      );
      expect(result.records).toEqual([{ secret: 'undefined', keys: [] }]);
      await expectHealthy(ctx);
    } finally {
      delete host.hostSecret;
    }
  });

  it('cannot import modules, statically or dynamically', async () => {
    const ctx = context();
    expect(await failureOf('return import("node:fs");', ctx)).toMatch(/Not supported|Promise/);
    const error = await runScript({ code: 'import fs from "node:fs";\nreturn {};' }, [{}], ctx).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /^with\.code: syntax error at line 1, column \d+: Cannot use import statement/,
    );
    await expectHealthy(ctx);
  });

  it('finds no process behind the Function constructor', async () => {
    const ctx = context();
    expect(await failureOf("return globalThis.constructor.constructor('return process')();", ctx)).toBe(
      'ReferenceError: process is not defined (line 1, column 60)',
    );
    expect(await failureOf("return record.constructor.constructor('return process')().env;", ctx)).toMatch(
      /^ReferenceError: process is not defined/,
    );
    expect(
      await failureOf("return (() => {}).constructor('return this.process.mainModule')();", ctx),
    ).toMatch(/^TypeError: Cannot read properties of undefined/);
    const global = await runScript(
      {
        code: "const g = Function('return this')(); return { same: g === globalThis, process: typeof g.process, require: typeof g.require };",
      },
      [{}],
      ctx,
    );
    expect(global.records).toEqual([{ same: true, process: 'undefined', require: 'undefined' }]);
    await expectHealthy(ctx);
  });

  it('cannot pollute host prototypes through returned objects', async () => {
    const ctx = context();
    const result = await runScript(
      {
        code: `try { Object.prototype.polluted = 'inside'; } catch (e) { /* frozen: see isolate-pool.test.ts */ }
          const evil = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}');
          evil.constructor = { prototype: { polluted: 'yes' } };
          return [evil, { __proto__: { polluted: 'yes' }, b: 2 }];`,
      },
      [{}],
      ctx,
    );
    expect(result.errors).toBeUndefined();
    const expected: unknown[] = [{ a: 1, constructor: { prototype: { polluted: 'yes' } } }, { b: 2 }];
    expect(result.records).toEqual(expected);
    for (const record of result.records) {
      expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
      expect(Object.hasOwn(record, '__proto__')).toBe(false);
      Object.assign({}, record);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    await expectHealthy(ctx);
  });

  it('reaches no network', async () => {
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests++;
      res.end('reached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const ctx = context();
      expect(await failureOf(`return fetch(${JSON.stringify(url)});`, ctx)).toBe(
        'ReferenceError: fetch is not defined (line 1, column 1)',
      );
      expect(
        await failureOf(
          `const x = new XMLHttpRequest(); x.open('GET', ${JSON.stringify(url)}); x.send(); return {};`,
          ctx,
        ),
      ).toMatch(/^ReferenceError: XMLHttpRequest is not defined/);
      expect(await failureOf(`return import(${JSON.stringify(url)});`, ctx)).toMatch(/Not supported|Promise/);
      await new Promise((r) => setTimeout(r, 50));
      expect(requests).toBe(0);
      await expectHealthy(ctx);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('script sandbox: limits', () => {
  it('stops an infinite loop with a clear message, fails only that record, and keeps the host responsive', async () => {
    const ctx = context();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = Date.now();
    try {
      const result = await runScript(
        { code: 'if (record.loop) { while (true) {} }\nreturn record;', timeoutMs: 300 },
        [{ id: 1 }, { id: 2, loop: true }, { id: 3 }],
        ctx,
      );
      expect(result.records).toEqual([{ id: 1 }, { id: 3 }]);
      expect(result.errors).toEqual([{ index: 1, message: 'script timed out after 300 ms' }]);
    } finally {
      clearInterval(ticker);
    }
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ticks).toBeGreaterThan(5); // the event loop ran while the script spun
    await expectHealthy(ctx);
  });

  it('stops running a page after three records time out', async () => {
    const ctx = context();
    const started = Date.now();
    const page = Array.from({ length: 20 }, (_, id) => ({ id }));
    const result = await runScript(
      { code: 'if (record.id > 0) { for (;;) {} }\nreturn record;', timeoutMs: 150 },
      page,
      ctx,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.records).toEqual([{ id: 0 }]);
    expect(result.errors?.slice(0, 3).map((e) => e.message)).toEqual(
      Array(3).fill('script timed out after 150 ms'),
    );
    expect(result.errors?.slice(3).map((e) => e.message)).toEqual(
      Array(16).fill('not run: the script timed out on 3 records of this page (limit 150 ms each)'),
    );
    await expectHealthy(ctx);
  });

  it('gives every record its own time budget', async () => {
    const ctx = context();
    // each record busy-waits 120 ms: 5 records take 600 ms, more than one 300 ms budget
    const code = 'const t = Date.now(); while (Date.now() - t < 120) {}\nreturn record;';
    const page = [1, 2, 3, 4, 5].map((id) => ({ id }));
    const result = await runScript({ code, timeoutMs: 300 }, page, ctx);
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual(page);
  });

  it('stops an infinite loop in perPage mode, failing the page', async () => {
    const ctx = context();
    const result = await runScript(
      { mode: 'perPage', code: 'for (;;) {}', timeoutMs: 200 },
      [{ a: 1 }, { a: 2 }],
      ctx,
    );
    expect(result.errors).toEqual([
      { index: 0, message: 'script timed out after 200 ms' },
      { index: 1, message: 'script timed out after 200 ms' },
    ]);
    await expectHealthy(ctx);
  });

  it('stops a memory bomb, disposes the isolate and starts a new one for the next record and page', async () => {
    const ctx = context();
    const code =
      'if (record.bomb) { const a = []; while (true) a.push(new Array(100000).fill(record.id)); }\nreturn { id: record.id };';
    const rssBefore = process.memoryUsage().rss;
    const result = await runScript(
      { code, memoryMb: 16, timeoutMs: 20_000 },
      [{ id: 1 }, { id: 2, bomb: true }, { id: 3 }],
      ctx,
    );
    expect(result.records).toEqual([{ id: 1 }, { id: 3 }]);
    expect(result.errors).toEqual([{ index: 1, message: 'script exceeded its memory limit of 16 MB' }]);
    expect(
      ctx.logs.some((l) => l.level === 'warn' && /memory limit of 16 MB on record 1/.test(l.message)),
    ).toBe(true);
    const next = await runScript({ code, memoryMb: 16 }, [{ id: 4 }], ctx);
    expect(next.records).toEqual([{ id: 4 }]);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    await expectHealthy(ctx);
  });

  it('keeps buffers that escape the memory limit out of reach', async () => {
    const ctx = context();
    const rssBefore = process.memoryUsage().rss;
    expect(
      await failureOf('return { b: new ArrayBuffer(8, { maxByteLength: 2 ** 32 }).byteLength };', ctx),
    ).toMatch(/^RangeError: resizable and growable buffers are not available in scripts/);
    expect(
      await failureOf('new SharedArrayBuffer(2 ** 30, { maxByteLength: 2 ** 31 }); return {};', ctx),
    ).toMatch(/^RangeError: resizable/);
    const viaInstance =
      'const Ctor = new Uint8Array(1).buffer.constructor;\nreturn { n: new Ctor(1, new Proxy({}, { has: () => false, get: () => 2 ** 32 })).resize };';
    const sneaky = await runScript({ code: viaInstance }, [{}], ctx);
    expect(sneaky.records).toEqual([{}]); // built without the option, so there is no resize
    expect(await failureOf('return { m: new WebAssembly.Memory({ initial: 16384 }) };', ctx)).toBe(
      'ReferenceError: WebAssembly is not defined (line 1, column 17)',
    );
    expect(
      await failureOf('const b = []; for (;;) b.push(new ArrayBuffer(2 ** 20));', ctx, { memoryMb: 16 }),
    ).toMatch(/Array buffer allocation failed|memory limit/);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    // ordinary buffers still work
    const ok = await runScript(
      {
        code: 'const b = new Uint8Array([1, 2, 3]).buffer.slice(1); return { n: b.byteLength, ab: b instanceof ArrayBuffer };',
      },
      [{}],
      ctx,
    );
    expect(ok.records).toEqual([{ n: 2, ab: true }]);
    await expectHealthy(ctx);
  });

  it('stops a running script as soon as the run is cancelled', async () => {
    const controller = new AbortController();
    const ctx = opContext({ signal: controller.signal });
    contexts.push(ctx);
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 100);
    await expect(runScript({ code: 'while (true) {}', timeoutMs: 30_000 }, [{}], ctx)).rejects.toThrow(
      'cancelled by test',
    );
    expect(Date.now() - started).toBeLessThan(2000);
    await expectHealthy();
  });
});

describe('script sandbox: the host afterwards', () => {
  let rss = 0;
  beforeAll(() => {
    rss = process.memoryUsage().rss;
  });
  afterAll(() => {
    expect(process.memoryUsage().rss - rss).toBeLessThan(512 * 1024 * 1024);
  });

  it('runs many step executions without leaking isolates', async () => {
    for (let i = 0; i < 30; i++) {
      const ctx = opContext();
      const result = await runScript({ code: 'return { i: record.i };', memoryMb: 8 }, [{ i }], ctx);
      expect(result.records).toEqual([{ i }]);
      await ctx.closeShared();
    }
  });
});
