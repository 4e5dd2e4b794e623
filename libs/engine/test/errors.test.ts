import { describe, expect, it } from 'vitest';
import { eventProblems } from './support/event-checks.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('retry', () => {
  it('retries a transient failure with a fixed delay until it succeeds', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'call',
          use: 'test.flaky',
          with: { failures: 2 },
          retry: { attempts: 3, backoff: 'fixed', delayMs: 40, jitter: false },
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ attempts: 3 });
    const at = h.probe.timeline.map((t) => t.at);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(38);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(38);
    expect(at[2] - at[1]).toBeLessThan(80);
    const warnings = ofType(events, 'step.log').filter((e) => e.level === 'warn');
    expect(warnings.map((e) => e.message)).toEqual([
      'attempt 1 failed: temporarily down (attempt 1); retrying in 40 ms',
      'attempt 2 failed: temporarily down (attempt 2); retrying in 40 ms',
    ]);
  });

  it('backs off exponentially, capped by maxDelayMs', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'call',
          use: 'test.flaky',
          with: { failures: 4 },
          retry: { attempts: 5, backoff: 'exponential', delayMs: 20, maxDelayMs: 60, jitter: false },
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    const delays = ofType(events, 'step.log').map((e) => /retrying in (\d+) ms/.exec(e.message)?.[1]);
    expect(delays).toEqual(['20', '40', '60', '60']);
    const at = h.probe.timeline.map((t) => t.at);
    expect(at[4] - at[0]).toBeGreaterThanOrEqual(175);
  });

  it('keeps jittered delays between half and all of the backoff', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'call', use: 'test.flaky', with: { failures: 3 }, retry: { attempts: 4, delayMs: 40 } }],
    });
    const { events } = await h.run(flow);
    const delays = ofType(events, 'step.log').map((e) => Number(/retrying in (\d+) ms/.exec(e.message)?.[1]));
    expect(delays).toHaveLength(3);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual((40 * 2 ** i) / 2);
      expect(d).toBeLessThanOrEqual(40 * 2 ** i);
    });
  });

  it('honours retryAfterMs of a TransientError', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'call',
          use: 'test.flaky',
          with: { failures: 1, retryAfterMs: 150 },
          retry: { attempts: 2, delayMs: 1 },
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    const at = h.probe.timeline.map((t) => t.at);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(145);
  });

  it('does not retry an error that is not retryable', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'call',
          use: 'test.flaky',
          with: { failures: 5, permanent: true },
          retry: { attempts: 5, delayMs: 1 },
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(h.probe.calls.get('flaky')).toBe(1);
    expect(result.error).toMatchObject({
      stepId: 'call',
      type: 'ConfigError',
      message: 'bad configuration (attempt 1)',
    });
    expect(ofType(events, 'record.error')).toMatchObject([{ attempt: 1, retryable: false }]);
  });

  it('gives up after the last attempt and reports the attempts made', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'call', use: 'test.flaky', with: { failures: 9 }, retry: { attempts: 3, delayMs: 1 } }],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(h.probe.calls.get('flaky')).toBe(3);
    expect(result.error).toMatchObject({ type: 'TransientError', message: 'temporarily down (attempt 3)' });
    expect(ofType(events, 'record.error')).toMatchObject([
      { stepId: 'call', attempt: 3, retryable: true, record: {} },
    ]);
  });

  it('restarts a source that fails before its first page', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'src',
          use: 'test.count',
          with: { count: 3, failFirst: 2 },
          retry: { attempts: 3, delayMs: 1 },
        },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toHaveLength(3);
  });

  it('retries only the records a destination rejected as retryable', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 6 } },
        {
          id: 'out',
          use: 'test.collect',
          with: { rejectMultiplesOf: 3, retryableFor: 1 },
          retry: { attempts: 2, delayMs: 1 },
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(result.errorCount).toBe(0);
    expect(h.probe.written.get('out')!.map((r) => r.n)).toEqual([1, 2, 4, 5, 0, 3]);
  });
});

describe('onError', () => {
  const rejecting = (h: ReturnType<typeof harness>, onError: 'fail' | 'continue' | 'fallback') =>
    h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 10, pageSize: 5 } },
        {
          id: 'load',
          use: 'test.collect',
          with: { rejectMultiplesOf: 4 },
          onError,
          ...(onError === 'fallback'
            ? {
                fallback: [
                  {
                    id: 'note',
                    use: 'test.echo',
                    with: { why: '{{ error.message }}', from: '{{ error.stepId }}' },
                  },
                  { id: 'dead', use: 'test.collect', with: { name: 'dead letters' } },
                ],
              }
            : {}),
        },
        { id: 'after', use: 'test.collect', with: { name: 'after' } },
      ],
    });

  it('fail: reports the page’s record errors, lets its good records on, then fails the job', async () => {
    const h = harness();
    const { result, events } = await h.run(rejecting(h, 'fail'));
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      stepId: 'load',
      message: '2 records failed; the first: n=0 is a multiple of 4',
    });
    expect(ofType(events, 'record.error').map((e) => e.record)).toEqual([{ n: 0 }, { n: 4 }]);
    expect(h.probe.written.get('out')!.map((r) => r.n)).toEqual([1, 2, 3]);
    // the second page never ran
    expect(result.stats.load).toMatchObject({ in: 5, out: 3, errors: 2 });
    expect(result.errorCount).toBe(2);
    expect(eventProblems(events)).toEqual([]);
  });

  it('continue: reports each failed record and completes with errorCount', async () => {
    const h = harness();
    const { result, events } = await h.run(rejecting(h, 'continue'));
    expect(result.status).toBe('completed');
    expect(result.errorCount).toBe(3);
    expect(ofType(events, 'record.error')).toEqual(
      [0, 4, 8].map((n): unknown =>
        expect.objectContaining({
          stepId: 'load',
          message: `n=${n} is a multiple of 4`,
          record: { n },
          attempt: 1,
          retryable: false,
        }),
      ),
    );
    expect(h.probe.written.get('after')).toHaveLength(7);
    expect(result.stats.load).toMatchObject({ in: 10, out: 7, errors: 3 });
  });

  it('continue: turns a thrown page error into record errors and goes on', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        { id: 'load', use: 'test.collect', with: { throwMessage: 'table is locked' }, onError: 'continue' },
        { id: 'after', use: 'test.collect', with: { name: 'after' } },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(result.errorCount).toBe(3);
    expect(ofType(events, 'record.error').map((e) => [e.message, e.record])).toEqual([
      ['table is locked', { n: 0 }],
      ['table is locked', { n: 1 }],
      ['table is locked', { n: 2 }],
    ]);
    expect(h.probe.written.get('after')).toBeUndefined();
  });

  it('fallback: runs the fallback steps with the failed records and `error`, passing their output on', async () => {
    const h = harness();
    const { result, events } = await h.run(rejecting(h, 'fallback'));
    expect(result.status).toBe('completed');
    expect(result.errorCount).toBe(0);
    expect(h.probe.written.get('dead letters')).toEqual([
      { n: 0, why: 'n=0 is a multiple of 4', from: 'load' },
      { n: 4, why: 'n=0 is a multiple of 4', from: 'load' },
      { n: 8, why: 'n=8 is a multiple of 4', from: 'load' },
    ]);
    expect(h.probe.written.get('after')).toHaveLength(10);
    // fallback steps ran once per failing page but report once
    expect(ofType(events, 'step.started').filter((e) => e.stepId === 'dead')).toHaveLength(1);
    expect(events.find((e) => e.type === 'step.finished' && e.stepId === 'dead')).toMatchObject({
      stats: { in: 3, out: 3 },
    });
    expect(eventProblems(events)).toEqual([]);
  });

  it('reports an expression that fails for one record as that record’s error', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        {
          id: 'calc',
          use: 'test.echo',
          with: { x: '{{ record.n = 1 ? $error("no ones") : record.n }}' },
          onError: 'continue',
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(ofType(events, 'record.error')).toEqual([
      expect.objectContaining({
        stepId: 'calc',
        record: { n: 1 },
        message: expect.stringContaining('no ones') as string,
      }),
    ]);
    expect(result.stats.calc).toMatchObject({ in: 3, out: 2, errors: 1 });
  });
});

describe('timeoutMs', () => {
  it('fails a call that runs too long with a TimeoutError and aborts its signal', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'wait', use: 'test.slow', with: { ms: 5000 }, timeoutMs: 50 }] });
    const started = performance.now();
    const { result } = await h.run(flow);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      stepId: 'wait',
      type: 'TimeoutError',
      message: 'step "wait" timed out after 50 ms',
    });
    expect(h.probe.signals[0].aborted).toBe(true);
  });

  it('times out an operation that ignores its signal too', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'wait', use: 'test.stubborn', with: { ms: 1000 }, timeoutMs: 50 }] });
    const { result, events } = await h.run(flow);
    expect(result.error).toMatchObject({ type: 'TimeoutError' });
    // failed at its timeout, not when the operation ended (the run then waited for it)
    const finished = events.find((e) => e.type === 'step.finished');
    expect((finished as { stats: { durationMs: number } }).stats.durationMs).toBeLessThan(700);
  });

  it('bounds each wait for a page of a source', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'src', use: 'test.count', with: { count: 3, pageSize: 1, delayMs: 300 }, timeoutMs: 50 }],
    });
    const { result } = await h.run(flow);
    expect(result.error).toMatchObject({ stepId: 'src', type: 'TimeoutError' });
  });

  it('fails the job after settings.timeoutMs', async () => {
    const h = harness();
    const flow = h.flow({
      settings: { timeoutMs: 60 },
      steps: [{ id: 'wait', use: 'test.slow', with: { ms: 5000 } }],
      onFailure: [{ id: 'alert', use: 'test.echo', with: { why: '{{ error.type }}' } }],
    });
    const started = performance.now();
    const { result, events } = await h.run(flow);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ type: 'TimeoutError', message: 'the job ran longer than 60 ms' });
    expect(h.probe.calls.get('echo:alert')).toBe(1);
    expect(eventProblems(events)).toEqual([]);
  });
});

describe('onFailure', () => {
  it('runs the onFailure steps with `error` in scope when the job fails', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 2 } },
        { id: 'boom', use: 'test.fail', with: { message: 'disk full' } },
      ],
      onFailure: [
        { id: 'alert', use: 'test.echo', with: { text: '{{ error.stepId }}: {{ error.message }}' } },
        { id: 'record', use: 'test.collect', with: { name: 'alerts' } },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ stepId: 'boom', message: '2 records failed; the first: disk full' });
    expect(h.probe.written.get('alerts')).toEqual([
      expect.objectContaining({ text: 'boom: 2 records failed; the first: disk full' }),
    ]);
    expect(eventProblems(events)).toEqual([]);
  });

  it('does not run onFailure when the job completes', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'ok', use: 'test.echo' }],
      onFailure: [{ id: 'alert', use: 'test.echo' }],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.calls.get('echo:alert')).toBeUndefined();
    expect(events.some((e) => 'stepId' in e && e.stepId === 'alert')).toBe(false);
  });
});

describe('configuration errors', () => {
  it('fails the step with a ConfigError naming the field when `with` does not fit the schema', async () => {
    const h = harness();
    const flow = h.flow({
      params: { count: { type: 'string', default: 'ten' } },
      steps: [
        { id: 'first', use: 'test.echo' },
        { id: 'src', use: 'test.count', with: { count: '{{ params.count }}' } },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({
      stepId: 'src',
      type: 'ConfigError',
      message: 'steps[1].with.count: expected number, got string "ten"',
    });
    expect(events.find((e) => e.type === 'step.finished' && e.stepId === 'src')).toMatchObject({
      status: 'failed',
    });
  });

  it('fails with a ConfigError naming the step for an unknown operation', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'x', use: 'test.echo' }] });
    const broken: typeof flow = {
      ...flow,
      steps: [{ id: 'x', use: 'test.nothing', with: {}, onError: 'fail' }],
    };
    const { result } = await h.run(broken);
    expect(result.error).toMatchObject({ stepId: 'x', type: 'ConfigError' });
    expect(result.error?.message).toContain('steps[0].use: connector "test" has no operation "nothing"');
  });

  it('throws FlowValidationError for bad params before any event', async () => {
    const h = harness();
    const flow = h.flow({
      params: { n: { type: 'integer', required: true } },
      steps: [{ id: 'x', use: 'test.echo' }],
    });
    const events: unknown[] = [];
    await expect(h.run(flow, { params: { n: 'many' }, onEvent: (e) => events.push(e) })).rejects.toThrow(
      /params\.n: expected an integer/,
    );
    expect(events).toEqual([]);
  });
});

describe('record errors', () => {
  it('carry the record as it entered the step and the attempt it last failed on', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 4 } },
        { id: 'dbl', use: 'test.double' },
        {
          id: 'out',
          use: 'test.collect',
          with: { rejectMultiplesOf: 3, retryableFor: 5 },
          retry: { attempts: 3, delayMs: 1 },
          onError: 'continue',
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(ofType(events, 'record.error')).toEqual([
      expect.objectContaining({ stepId: 'out', record: { n: 0 }, attempt: 3, retryable: true }),
      expect.objectContaining({ stepId: 'out', record: { n: 6 }, attempt: 3, retryable: true }),
    ]);
    expect(result.errorCount).toBe(2);
  });
});
