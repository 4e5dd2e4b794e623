import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@junction/protocol';
import { eventProblems } from './support/event-checks.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('events', () => {
  it('reports progress as throttled step.stats and final stats in step.finished and job.finished', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 14, pageSize: 1, delayMs: 90 } },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    const progress = ofType(events, 'step.stats').filter((e) => e.stepId === 'src');
    // ~1.3 s of running: one or two reports, at least 500 ms apart, never going down
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].at - progress[i - 1].at).toBeGreaterThanOrEqual(500);
      expect(progress[i].stats.out).toBeGreaterThanOrEqual(progress[i - 1].stats.out);
    }
    expect(progress[0].stats.out).toBeGreaterThan(0);
    expect(progress[0].stats.out).toBeLessThan(14);
    const finished = ofType(events, 'step.finished');
    expect(finished.find((e) => e.stepId === 'src')?.stats).toEqual(result.stats.src);
    expect(result.stats.src.durationMs).toBeGreaterThanOrEqual(14 * 90 - 20);
    const job = ofType(events, 'job.finished')[0];
    expect(job).toMatchObject({ status: 'completed', errorCount: 0, stats: result.stats, output: { n: 0 } });
    expect(eventProblems(events)).toEqual([]);
  });

  it('forwards operation logs as step.log events of the step', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'call', use: 'test.flaky', with: { failures: 1 }, retry: { attempts: 2, delayMs: 1 } }],
    });
    const { events } = await h.run(flow);
    expect(ofType(events, 'step.log')).toEqual([
      expect.objectContaining({
        stepId: 'call',
        level: 'warn',
        message: expect.stringMatching(/^attempt 1 failed/) as string,
      }),
    ]);
  });

  it('keeps running when the event sink throws', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'a', use: 'test.echo' }] });
    const { result } = await h.run(flow, {
      onEvent: () => {
        throw new Error('sink down');
      },
    });
    expect(result.status).toBe('completed');
  });

  it('is well-formed across nested control flow, failures and skips', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 6, pageSize: 2 } },
        {
          id: 'each',
          forEach: 'records',
          do: [
            {
              id: 'branch',
              if: 'record.n % 2 = 0',
              then: [
                {
                  id: 'guard',
                  try: [{ id: 'risky', use: 'test.fail', with: { when: '{{ record.n = 4 }}' } }],
                  catch: [{ id: 'handle', use: 'test.echo' }],
                },
              ],
              else: [{ id: 'odd', use: 'test.double' }],
            },
          ],
        },
        { id: 'out', use: 'test.collect', with: { rejectMultiplesOf: 5 }, onError: 'continue' },
        { id: 'never', if: 'false', then: [{ id: 'unused', use: 'test.echo' }] },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    // n=4 failed in `risky` (then caught), 0 and 10 were rejected by `out` (pipelined: any order)
    const recordErrors = ofType(events, 'record.error').map((e) => [e.stepId, e.record]);
    expect(recordErrors).toHaveLength(3);
    expect(recordErrors).toEqual(
      expect.arrayContaining([
        ['risky', { n: 4 }],
        ['out', { n: 0 }],
        ['out', { n: 10 }],
      ]),
    );
    expect(result.errorCount).toBe(3);
    expect(eventProblems(events)).toEqual([]);
    const statusOf = (id: string): string | undefined =>
      ofType(events, 'step.finished').find(
        (e: Extract<RunEvent, { type: 'step.finished' }>) => e.stepId === id,
      )?.status;
    expect(statusOf('risky')).toBe('failed');
    expect(statusOf('guard')).toBe('completed');
    expect(statusOf('unused')).toBe('skipped');
    expect(h.probe.written.get('out')).toEqual([
      { n: 2 },
      { n: 2 },
      { n: 6 },
      { message: 'boom', stepId: 'risky', type: 'Error' },
    ]);
  });
});
