import { describe, expect, it } from 'vitest';
import { ConfigError } from '@junction/flow';
import { run } from '../../src/script/run.operation.ts';
import type { IsolatePool } from '../../src/script/isolate-pool.ts';
import type { ScriptSandbox } from '../../src/script/sandbox.ts';
import { contextsClosedAfterEach, inputProblems } from '../support/op-context.ts';
import { runScript } from '../support/script-run.ts';

const context = contextsClosedAfterEach();

describe('script.run perRecord', () => {
  it('maps each record with params and the steps binding', async () => {
    const ctx = context({ bindings: { params: { rate: 3 }, steps: { prev: { output: { label: 'L' } } } } });
    const result = await runScript(
      { code: 'return { id: record.id, v: record.x * params.rate, label: steps.prev.output.label };' },
      [
        { id: 1, x: 2 },
        { id: 2, x: 5 },
      ],
      ctx,
    );
    expect(result).toEqual({
      records: [
        { id: 1, v: 6, label: 'L' },
        { id: 2, v: 15, label: 'L' },
      ],
    });
  });

  it('returns several records for an array and ignores the record for null or undefined', async () => {
    const result = await runScript(
      {
        code: 'if (record.n === 0) return null; if (record.n < 0) return; return Array.from({ length: record.n }, (_, i) => ({ i }));',
      },
      [{ n: 2 }, { n: 0 }, { n: -1 }, { n: 1 }],
      context(),
    );
    expect(result.records).toEqual([{ i: 0 }, { i: 1 }, { i: 0 }]);
    expect(result.ignored).toBe(2);
    expect(result.errors).toBeUndefined();
  });

  it('fails only the record whose code throws, with the line of the throw', async () => {
    const code = 'if (record.bad) {\n  throw new TypeError("bad record " + record.id);\n}\nreturn record;';
    const result = await runScript({ code }, [{ id: 1 }, { id: 2, bad: true }, { id: 3 }], context());
    expect(result.records).toEqual([{ id: 1 }, { id: 3 }]);
    expect(result.errors).toEqual([{ index: 1, message: 'TypeError: bad record 2 (line 2, column 9)' }]);
  });

  it('fails a record whose result is not an object, an array of objects or null', async () => {
    const result = await runScript(
      { code: "return record.r === 'big' ? { big: 1n } : record.r;" },
      [{ r: 5 }, { r: [{ a: 1 }, 'x'] }, { r: { ok: true } }, { r: 'big' }],
      context(),
    );
    expect(result.records).toEqual([{ ok: true }]);
    expect(result.errors?.map((e) => [e.index, e.message])).toEqual([
      [0, expect.stringContaining('it returned a number')],
      [1, expect.stringContaining('an array holding a string at [1]')],
      [3, 'the script returned a value that is not JSON: TypeError: Do not know how to serialize a BigInt'],
    ]);
  });

  it('does not let one record change params, steps or the next record', async () => {
    const code =
      'try { params.rate = 99; } catch (e) { record.err = e.constructor.name; } record.rate = params.rate; return record;';
    const result = await runScript(
      { code },
      [{ id: 1 }, { id: 2 }],
      context({ bindings: { params: { rate: 1 }, steps: {} } }),
    );
    expect(result.records).toEqual([
      { id: 1, err: 'TypeError', rate: 1 },
      { id: 2, err: 'TypeError', rate: 1 },
    ]);
  });

  it('passes values as JSON: dates as ISO text, bigints as decimal text', async () => {
    const result = await runScript(
      { code: 'return { d: typeof record.d, dv: record.d, b: record.b };' },
      [{ d: new Date('2024-01-02T03:04:05.000Z'), b: 12345678901234567890n }],
      context(),
    );
    expect(result.records).toEqual([
      { d: 'string', dv: '2024-01-02T03:04:05.000Z', b: '12345678901234567890' },
    ]);
  });

  it('holds no sandbox between the pages of a step execution, and the next page runs in the same isolate', async () => {
    const code = 'return { i: record.i };';
    const ctx = context();
    const live = await ctx.shared(
      'sandboxes',
      async () => new Set<ScriptSandbox>(),
      async () => undefined,
    );
    await runScript({ code }, [{ i: 1 }], ctx);
    expect(live.size).toBe(0);
    // the engine may hand each call a copy of the context with the call's own signal
    const second = await runScript({ code }, [{ i: 2 }], { ...ctx, signal: new AbortController().signal });
    expect(second.records).toEqual([{ i: 2 }]);
    expect(live.size).toBe(0);
    const pool = await ctx.shared<IsolatePool>(
      'isolates',
      () => Promise.reject(new Error('no pool yet')),
      async () => undefined,
    );
    expect(pool.created).toBe(1);
  });

  it('refuses new globals with a clear error', async () => {
    const result = await runScript({ code: 'globalThis.seen = 1; return {};' }, [{}], context());
    expect(result.errors).toEqual([
      {
        index: 0,
        message: 'TypeError: Cannot add property seen, object is not extensible (line 1, column 17)',
      },
    ]);
  });

  it('stops a page that is running when the runner closes its shared resources', async () => {
    const ctx = context();
    const live = await ctx.shared(
      'sandboxes',
      async () => new Set<ScriptSandbox>(),
      async () => undefined,
    );
    const code = '{ const t = Date.now(); while (Date.now() - t < 5000) {} }\nreturn record;';
    const running = runScript({ code, timeoutMs: 10_000 }, [{ a: 1 }], ctx);
    const started = Date.now();
    while (live.size === 0 && Date.now() - started < 2_000) await new Promise((r) => setTimeout(r, 10));
    expect(live.size).toBe(1);
    const [sandbox] = [...live];
    // past the first slice: the record runs asynchronously, so the event loop is free to close
    await new Promise((r) => setTimeout(r, 200));
    await ctx.closeShared();
    expect(sandbox.disposed).toBe(true);
    await expect(running).rejects.toThrow(/shut down/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(live.size).toBe(0);
  });

  it('forwards console output to the step log, bounded per page', async () => {
    const ctx = context();
    await runScript(
      { code: 'console.log("rec", record.i, { deep: [1] }); console.warn("w"); return null;' },
      [{ i: 1 }],
      ctx,
    );
    expect(ctx.logs.slice(0, 2)).toEqual([
      { level: 'info', message: 'rec 1 {"deep":[1]}', fields: { source: 'script console' } },
      { level: 'warn', message: 'w', fields: { source: 'script console' } },
    ]);
    const noisy = context();
    const page = Array.from({ length: 300 }, (_, i) => ({ i }));
    await runScript({ code: 'console.log("x".repeat(5000)); return null;' }, page, noisy);
    const lines = noisy.logs.filter((l) => l.fields?.source === 'script console');
    expect(lines).toHaveLength(100);
    expect(lines[0].message.length).toBeLessThanOrEqual(2001);
    expect(noisy.logs.at(-1)).toEqual({
      level: 'warn',
      message: '200 more script console lines on this page were dropped',
    });
  });

  it('runs a page of simple records at tens of thousands per second', async () => {
    const ctx = context();
    const page = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `n${i}`, amount: i * 1.5 }));
    const input = run.input.parse({
      code: 'return { id: record.id, name: record.name.toUpperCase(), cents: Math.round(record.amount * 100) };',
    });
    await run.execute(ctx, input, page);
    const started = performance.now();
    for (let p = 0; p < 20; p++) await run.execute(ctx, input, page);
    const rowsPerSecond = 20_000 / ((performance.now() - started) / 1000);
    expect(rowsPerSecond).toBeGreaterThan(30_000);
  });
});

describe('script.run perPage', () => {
  it('gives the script all records and passes on what it returns', async () => {
    const result = await runScript(
      {
        mode: 'perPage',
        code: 'const total = records.reduce((s, r) => s + r.amount, 0);\nreturn [{ count: records.length, total }];',
      },
      [{ amount: 1 }, { amount: 2.5 }],
      context(),
    );
    expect(result).toEqual({ records: [{ count: 2, total: 3.5 }] });
  });

  it('fails every record of the page when the script throws or returns something else than an array', async () => {
    const thrown = await runScript(
      { mode: 'perPage', code: 'throw new Error("nope");' },
      [{}, {}],
      context(),
    );
    expect(thrown.records).toEqual([]);
    expect(thrown.errors).toEqual([
      { index: 0, message: 'the script failed on this page: Error: nope (line 1, column 7)' },
      { index: 1, message: 'the script failed on this page: Error: nope (line 1, column 7)' },
    ]);
    const wrong = await runScript({ mode: 'perPage', code: 'return { not: "an array" };' }, [{}], context());
    expect(wrong.errors?.[0].message).toBe(
      'the script failed on this page: in perPage mode the script must return an array of records; it returned an object',
    );
  });
});

describe('script.run memory limits on its inputs', () => {
  it('reports params and steps too large for the memory limit as a ConfigError', async () => {
    const ctx = context({ bindings: { params: { big: 'x'.repeat(24 * 1024 * 1024) }, steps: {} } });
    const error = await runScript({ code: 'return record;', memoryMb: 8 }, [{}], ctx).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^script exceeded its memory limit of 8 MB while starting/);
  });

  it('fails the records of a page too large for the memory limit, and takes the next page', async () => {
    const ctx = context();
    const big = Array.from({ length: 4 }, (_, i) => ({ i, blob: 'y'.repeat(6 * 1024 * 1024) }));
    const result = await runScript({ code: 'return { i: record.i };', memoryMb: 8 }, big, ctx);
    expect(result.records).toEqual([]);
    expect(result.errors).toHaveLength(4);
    expect(result.errors?.[0].message).toMatch(
      /^script exceeded its memory limit of 8 MB: the page alone does not fit/,
    );
    const next = await runScript({ code: 'return { i: record.i };', memoryMb: 8 }, [{ i: 9 }], ctx);
    expect(next.records).toEqual([{ i: 9 }]);
  });
});

describe('script.run configuration', () => {
  it('reports a syntax error as a ConfigError naming with.code, line and column', async () => {
    const code = 'const a = 1;\nreturn { a: };';
    const error = await runScript({ code }, [{}], context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      "with.code: syntax error at line 2, column 13: Unexpected token '}'",
    );
  });

  it('leaves {{ }} in the code alone (a raw field)', async () => {
    expect(run.rawFields).toEqual(['code']);
    const result = await runScript({ code: 'return { s: "{{ not a template }}" };' }, [{}], context());
    expect(result.records).toEqual([{ s: '{{ not a template }}' }]);
  });

  it('validates the limits and rejects unknown options', () => {
    expect(inputProblems(run, { code: 'return 1', timeoutMs: 60_001 })[0]).toMatch(/^timeoutMs: /);
    expect(inputProblems(run, { code: 'return 1', memoryMb: 4 })[0]).toMatch(/^memoryMb: /);
    expect(inputProblems(run, { code: 'return 1', memoryMb: 1024 })[0]).toMatch(/^memoryMb: /);
    expect(inputProblems(run, { code: 'return 1', mode: 'perrecord' })[0]).toMatch(/^mode: /);
    expect(inputProblems(run, { code: '   ' })[0]).toMatch(/^code: expected JavaScript code/);
    expect(inputProblems(run, { code: 'x', language: 'js' })[0]).toMatch(/Unrecognized key.*language/);
    expect(run.input.parse({ code: 'x' })).toEqual({
      code: 'x',
      mode: 'perRecord',
      timeoutMs: 1000,
      memoryMb: 64,
    });
  });
});
