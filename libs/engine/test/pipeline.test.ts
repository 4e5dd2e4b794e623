import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineConnector, defineOperation } from '@junction/flow';
import { eventProblems } from './support/event-checks.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('pipeline of pages', () => {
  it('runs steps in order, each page through every step', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 7, pageSize: 3 } },
        { id: 'dbl', use: 'test.double' },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([0, 2, 4, 6, 8, 10, 12].map((n) => ({ n })));
    expect(result.stats.src).toMatchObject({ out: 7, errors: 0 });
    expect(result.stats.dbl).toMatchObject({ in: 7, out: 7 });
    expect(result.stats.out).toMatchObject({ in: 7, out: 7 });
    expect(ofType(events, 'step.started').map((e) => [e.stepId, e.path, e.use])).toEqual([
      ['src', 'steps[0]', 'test.count'],
      ['dbl', 'steps[1]', 'test.double'],
      ['out', 'steps[2]', 'test.collect'],
    ]);
    expect(eventProblems(events)).toEqual([]);
  });

  it("passes a transform's output on in pages of the run's page size, however many records it returned", async () => {
    const pageSizes: number[] = [];
    const fan = defineConnector({
      id: 'fan',
      title: 'Fan out',
      version: '1.0.0',
      operations: {
        out: defineOperation({
          name: 'out',
          title: 'Each record becomes 250',
          kind: 'transform',
          input: z.strictObject({}),
          async execute(_ctx, _input, page) {
            return { records: page.flatMap((r) => Array.from({ length: 250 }, (_, i) => ({ n: r.n, i }))) };
          },
        }),
        sizes: defineOperation({
          name: 'sizes',
          title: 'Records the size of each page it gets',
          kind: 'destination',
          input: z.strictObject({}),
          async execute(_ctx, _input, page) {
            pageSizes.push(page.length);
            return { records: page };
          },
        }),
      },
    });
    const h = harness(fan);
    const flow = h.flow({
      settings: { pageSize: 100 },
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3, pageSize: 3 } },
        { id: 'fan', use: 'fan.out' },
        { id: 'sink', use: 'fan.sizes' },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    // 3 × 250 = 750 records from one call: pages of 100, the last one 50
    expect(pageSizes).toEqual([100, 100, 100, 100, 100, 100, 100, 50]);
    expect(result.stats.fan).toMatchObject({ in: 3, out: 750 });
    expect(result.stats.sink).toMatchObject({ in: 750, out: 750 });
  });

  it('overlaps stages: a slow source and a slow destination take about the slower one, not the sum', async () => {
    const h = harness();
    const pages = 8;
    const ms = 40;
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: pages, pageSize: 1, delayMs: ms } },
        { id: 'out', use: 'test.collect', with: { delayMs: ms } },
      ],
    });
    const started = performance.now();
    const { result } = await h.run(flow);
    const took = performance.now() - started;
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toHaveLength(pages);
    // sequential would be pages × 2 × ms = 640 ms; pipelined about (pages + 1) × ms = 360 ms
    expect(took).toBeLessThan(pages * 2 * ms * 0.8);
    // the source read page 2 before the destination finished writing page 1
    const at = (what: string): number => h.probe.timeline.find((t) => t.what === what)!.at;
    expect(at('read 2')).toBeLessThan(at('wrote 2'));
  });

  it('bounds the pages in flight: a fast source waits for a slow destination (backpressure)', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 20, pageSize: 1 } },
        { id: 'out', use: 'test.collect', with: { delayMs: 15 } },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    // when the first page is written, the source may be a few pages ahead, never all 20
    const lines = h.probe.timeline.map((t) => t.what);
    const readBeforeFirstWrite = lines.slice(0, lines.indexOf('wrote 1')).filter((w) => w.startsWith('read'));
    expect(readBeforeFirstWrite.length).toBeGreaterThanOrEqual(2);
    expect(readBeforeFirstWrite.length).toBeLessThanOrEqual(5);
  });

  it('moves 1M records through source → transform → destination in bounded memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const samples: number[] = [];
    let pages = 0;
    const meter = defineConnector({
      id: 'meter',
      title: 'Heap meter',
      version: '1.0.0',
      operations: {
        sample: defineOperation({
          name: 'sample',
          title: 'Sample the heap every 100 pages',
          kind: 'destination',
          input: z.strictObject({}),
          async execute(_ctx, _input, page) {
            if (++pages % 100 === 0) {
              gc();
              samples.push(process.memoryUsage().heapUsed);
            }
            return { records: page };
          },
        }),
      },
    });
    const h = harness(meter);
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 1_000_000 } },
        { id: 'map', use: 'test.double' },
        { id: 'sink', use: 'meter.sample' },
      ],
    });
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(result.stats.sink.out).toBe(1_000_000);
    expect(samples).toHaveLength(10);
    // 1M records held at once would be ~100 MB; a few pages in flight are well under 1 MB
    const growth = Math.max(...samples) - baseline;
    expect(growth).toBeLessThan(16 * 1024 * 1024);
  });

  it('runs an action once per record, at most `concurrency` at a time, results in order', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 8 } },
        { id: 'wait', use: 'test.slow', with: { ms: 30, concurrency: 4 } },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const started = performance.now();
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.maxInFlight).toBe(4);
    expect(performance.now() - started).toBeLessThan(8 * 30);
    expect(h.probe.written.get('out')!.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('runs an action at the start of a flow once, with the trigger payload as its record', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'hello', use: 'test.echo', with: { greeting: 'hi {{ record.name }}' } }],
    });
    const { result, events } = await h.run(flow, { trigger: { payload: { name: 'Ada' } } });
    expect(h.probe.calls.get('echo:hello')).toBe(1);
    expect(result.output).toEqual({ name: 'Ada', greeting: 'hi Ada' });
    expect(ofType(events, 'job.finished')[0].output).toEqual({ name: 'Ada', greeting: 'hi Ada' });
  });

  it('starts from an empty record when the payload is not an object', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'hello', use: 'test.echo', with: { p: '{{ trigger.payload }}' } }] });
    const { result } = await h.run(flow, { trigger: { payload: [1, 2] } });
    expect(result.output).toEqual({ p: [1, 2] });
  });

  it('drains what came before a source, then streams the source', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'first', use: 'test.count', with: { count: 3 } },
        { id: 'a', use: 'test.collect', with: { name: 'a' } },
        { id: 'second', use: 'test.count', with: { count: 2 } },
        { id: 'b', use: 'test.collect', with: { name: 'b' } },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('a')).toHaveLength(3);
    expect(h.probe.written.get('b')).toEqual([{ n: 0 }, { n: 1 }]);
    expect(result.stats.second).toMatchObject({ in: 3, out: 2 });
  });

  it('counts records a transform drops as ignored', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 10 } },
        { id: 'even', use: 'test.keepEven' },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.stats.even).toMatchObject({ in: 10, out: 5, ignored: 5, errors: 0 });
  });

  it('uses settings.pageSize over the run default', async () => {
    const h = harness();
    const flow = h.flow({
      settings: { pageSize: 4 },
      steps: [
        { id: 'src', use: 'test.count', with: { count: 10 } },
        { id: 'out', use: 'test.collect' },
      ],
    });
    await h.run(flow, { pageSize: 1000 });
    expect(h.probe.timeline.filter((t) => t.what.startsWith('read'))).toHaveLength(3);
  });
});
