import { describe, expect, it } from 'vitest';
import { eventProblems } from './support/event-checks.ts';
import { STRAGGLER_WAIT_MS } from '../src/stragglers.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('cancellation', () => {
  it('ends a run cancelled mid-step quickly, aborting the running operation’s signal', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'wait', use: 'test.slow', with: { ms: 10_000 } },
        { id: 'next', use: 'test.echo' },
      ],
      onFailure: [{ id: 'alert', use: 'test.echo' }],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const { result, events } = await h.run(flow, { signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(500);
    expect(result.status).toBe('cancelled');
    expect(result.error).toBeUndefined();
    expect(h.probe.signals).toHaveLength(1);
    expect(h.probe.signals[0].aborted).toBe(true);
    // no further step, and no onFailure
    expect(h.probe.calls.get('echo:next')).toBeUndefined();
    expect(h.probe.calls.get('echo:alert')).toBeUndefined();
    const finished = Object.fromEntries(ofType(events, 'step.finished').map((e) => [e.stepId, e.status]));
    expect(finished).toEqual({ wait: 'cancelled', next: 'skipped' });
    expect(ofType(events, 'job.finished')[0].status).toBe('cancelled');
    expect(eventProblems(events)).toEqual([]);
  });

  it('stops a whole pipeline: source, transform and destination all end cancelled', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 1_000_000, pageSize: 10, delayMs: 5 } },
        { id: 'dbl', use: 'test.double' },
        { id: 'out', use: 'test.collect', with: { delayMs: 5 } },
      ],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 80);
    const started = performance.now();
    const { result, events } = await h.run(flow, { signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(500);
    expect(result.status).toBe('cancelled');
    expect(result.stats.src.out).toBeLessThan(1_000_000);
    expect(h.probe.signals.every((s) => s.aborted)).toBe(true);
    const finished = Object.fromEntries(ofType(events, 'step.finished').map((e) => [e.stepId, e.status]));
    expect(finished).toEqual({ src: 'cancelled', dbl: 'cancelled', out: 'cancelled' });
    expect(eventProblems(events)).toEqual([]);
  });

  it('ends once an abandoned operation has wound down, so nothing runs on after it', async () => {
    const h = harness();
    // ignores its signal and ends a second in (as a connector whose cancel takes a while)
    const flow = h.flow({ steps: [{ id: 'wait', use: 'test.stubborn', with: { ms: 1000 } }] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    const { result, events } = await h.run(flow, { signal: controller.signal });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(result.status).toBe('cancelled');
    // the step itself was stopped at the cancel, long before the operation ended
    const finished = events.find((e) => e.type === 'step.finished');
    expect(finished).toMatchObject({ status: 'cancelled' });
    expect((finished as { stats: { durationMs: number } }).stats.durationMs).toBeLessThan(700);
  });

  it(`waits at most ${STRAGGLER_WAIT_MS} ms for an operation that ignores its signal`, async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'wait', use: 'test.stubborn', with: { ms: 20_000 } }] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    const { result } = await h.run(flow, { signal: controller.signal });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(STRAGGLER_WAIT_MS);
    expect(took).toBeLessThan(STRAGGLER_WAIT_MS + 2500);
    expect(result.status).toBe('cancelled');
  });

  it('cuts a retry wait short', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'call', use: 'test.flaky', with: { failures: 5 }, retry: { attempts: 5, delayMs: 5000 } },
      ],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const { result } = await h.run(flow, { signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(500);
    expect(result.status).toBe('cancelled');
    expect(h.probe.calls.get('flaky')).toBe(1);
  });

  it('cancels inside loops and try blocks without running catch', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 5 } },
        {
          id: 'each',
          forEach: 'records',
          do: [
            {
              id: 'guard',
              try: [{ id: 'wait', use: 'test.slow', with: { ms: 5000 } }],
              catch: [{ id: 'handle', use: 'test.echo' }],
            },
          ],
        },
      ],
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const { result, events } = await h.run(flow, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(h.probe.calls.get('echo:handle')).toBeUndefined();
    expect(eventProblems(events)).toEqual([]);
  });

  it('ends cancelled when the signal is already aborted, running nothing', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'a', use: 'test.echo' }] });
    const { result, events } = await h.run(flow, { signal: AbortSignal.abort() });
    expect(result.status).toBe('cancelled');
    expect(h.probe.calls.get('echo:a')).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['job.started', 'step.finished', 'job.finished']);
  });
});
