import { describe, expect, it } from 'vitest';
import { isSlowScript, SYNC_SLICE_MS } from '../../src/script/sandbox.ts';
import { contextsClosedAfterEach, type TestContext } from '../support/op-context.ts';
import { runScript } from '../support/script-run.ts';

// User code runs in synchronous calls of at most SYNC_SLICE_MS; a record that needs longer is
// stopped, forgotten and run again asynchronously with the script's whole time limit. These tests
// show that the second run is invisible (no record changed twice, no console line twice) and that
// synchronous slices leave the event loop free between them. Every test has its own script text:
// a script that needed more than a slice stays asynchronous for a while, per text.

const context = contextsClosedAfterEach();

const busyWait = (ms: number): string => `{ const t = Date.now(); while (Date.now() - t < ${ms}) {} }`;
const scriptLines = (ctx: TestContext): string[] =>
  ctx.logs.filter((l) => l.fields?.source === 'script console').map((l) => l.message);

describe('script.run synchronous slices', () => {
  it('runs a record that needs more than a slice once in effect: its changes and console lines are not repeated', async () => {
    const ctx = context();
    const code = [
      'console.log("start " + record.id);',
      'record.n = record.n * 2;',
      `if (record.slow) ${busyWait(SYNC_SLICE_MS * 3)}`,
      'console.log("end " + record.id);',
      'return record;',
    ].join('\n');
    const page = [
      { id: 1, n: 1 },
      { id: 2, n: 2, slow: true },
      { id: 3, n: 3 },
    ];
    const result = await runScript({ code, timeoutMs: 2_000 }, page, ctx);
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 4, slow: true },
      { id: 3, n: 6 },
    ]);
    expect(scriptLines(ctx)).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('runs a perPage script that needs more than a slice once in effect', async () => {
    const ctx = context();
    const code = [
      'console.log("page of " + records.length);',
      'for (const r of records) r.n = r.n + 1;',
      busyWait(SYNC_SLICE_MS * 3),
      'return records;',
    ].join('\n');
    const result = await runScript({ mode: 'perPage', code, timeoutMs: 2_000 }, [{ n: 1 }, { n: 2 }], ctx);
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual([{ n: 2 }, { n: 3 }]);
    expect(scriptLines(ctx)).toEqual(['page of 2']);
  });

  it('takes a script for slow only when it used the CPU for its slice, not when its thread waited', async () => {
    const ctx = context();
    // Atomics.wait blocks the isolate's thread without using the CPU, as a descheduled thread would
    const code = [
      'console.log("start " + record.id);',
      `if (record.wait) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${SYNC_SLICE_MS * 3});`,
      'return { id: record.id, waited: record.wait === true };',
    ].join('\n');
    const result = await runScript(
      { code, timeoutMs: 2_000 },
      [{ id: 1 }, { id: 2, wait: true }, { id: 3 }],
      ctx,
    );
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual([
      { id: 1, waited: false },
      { id: 2, waited: true },
      { id: 3, waited: false },
    ]);
    expect(scriptLines(ctx)).toEqual(['start 1', 'start 2', 'start 3']);
    expect(isSlowScript(code, 'perRecord')).toBe(false);

    const busy = `${busyWait(SYNC_SLICE_MS * 3)}\nreturn { busy: true };`;
    // several records: on a loaded machine one slice may get less than half its time on a core
    await runScript({ code: busy, timeoutMs: 2_000 }, [{}, {}, {}, {}, {}], ctx);
    expect(isSlowScript(busy, 'perRecord')).toBe(true);
  });

  it('still fails a record at the script’s own limit when that limit is below a slice', async () => {
    const ctx = context();
    const code = `if (record.loop) { for (;;) {} }\nreturn { id: record.id, limit: ${SYNC_SLICE_MS - 5} };`;
    const result = await runScript(
      { code, timeoutMs: SYNC_SLICE_MS - 5 },
      [{ id: 1 }, { id: 2, loop: true }, { id: 3 }],
      ctx,
    );
    expect(result.records).toEqual([
      { id: 1, limit: SYNC_SLICE_MS - 5 },
      { id: 3, limit: SYNC_SLICE_MS - 5 },
    ]);
    expect(result.errors).toEqual([{ index: 1, message: `script timed out after ${SYNC_SLICE_MS - 5} ms` }]);
  });

  it('lets the event loop run between the slices of a long page of fast records', async () => {
    const ctx = context();
    // 300 records of ~1 ms: each fits a slice, the page does not
    const code = `${busyWait(1)}\nreturn { id: record.id, page: "long" };`;
    const page = Array.from({ length: 300 }, (_, id) => ({ id }));
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 1);
    let result;
    try {
      result = await runScript({ code, timeoutMs: 1_000 }, page, ctx);
    } finally {
      clearInterval(ticker);
    }
    expect(result.errors).toBeUndefined();
    expect(result.records).toHaveLength(300);
    expect(ticks).toBeGreaterThan(10);
    // a slice holds the loop for at most about SYNC_SLICE_MS (generous for a loaded machine)
    expect(longestGap).toBeLessThan(SYNC_SLICE_MS * 10);
  });

  it('stops a page of fast records between two slices when the run is cancelled', async () => {
    const controller = new AbortController();
    const ctx = context({ signal: controller.signal });
    const code = `${busyWait(1)}\nreturn { id: record.id, cancelled: "maybe" };`;
    const page = Array.from({ length: 5_000 }, (_, id) => ({ id }));
    setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
    const started = Date.now();
    await expect(runScript({ code, timeoutMs: 1_000 }, page, ctx)).rejects.toThrow('cancelled by test');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
