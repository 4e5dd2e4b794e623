import { describe, expect, it } from 'vitest';
import { FlowValidationError } from '@junction/flow';
import { eventProblems } from './support/event-checks.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('resume', () => {
  const threeSteps = (h: ReturnType<typeof harness>) =>
    h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 100 } },
        { id: 'dbl', use: 'test.double' },
        { id: 'out', use: 'test.collect' },
      ],
    });

  it('starts at the given step with exactly the given records; earlier steps are skipped', async () => {
    const h = harness();
    const { result, events } = await h.run(threeSteps(h), {
      resume: { stepId: 'dbl', records: [{ n: 5 }, { n: 7 }] },
    });
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([{ n: 10 }, { n: 14 }]);
    expect(h.probe.timeline.filter((t) => t.what.startsWith('read'))).toEqual([]);
    expect(ofType(events, 'job.started')[0].resumeAt).toBe('dbl');
    expect(events.find((e) => e.type === 'step.finished' && e.stepId === 'src')).toMatchObject({
      status: 'skipped',
    });
    expect(result.stats.src).toBeUndefined();
    expect(result.stats.dbl).toMatchObject({ in: 2, out: 2 });
    expect(eventProblems(events)).toEqual([]);
  });

  it('feeds many records as pages', async () => {
    const h = harness();
    const records = Array.from({ length: 2500 }, (_, n) => ({ n }));
    const { result } = await h.run(threeSteps(h), { resume: { stepId: 'out', records } });
    expect(result.stats.out).toMatchObject({ in: 2500, out: 2500 });
  });

  it('resumes inside a try block, keeping its catch', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 10 } },
        {
          id: 'guard',
          try: [
            { id: 'dbl', use: 'test.double' },
            { id: 'load', use: 'test.collect', with: { rejectMultiplesOf: 3 } },
          ],
          catch: [{ id: 'handle', use: 'test.collect', with: { name: 'caught' } }],
        },
        { id: 'after', use: 'test.collect', with: { name: 'after' } },
      ],
    });
    const { result, events } = await h.run(flow, {
      resume: { stepId: 'load', records: [{ n: 3 }, { n: 4 }] },
    });
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([{ n: 4 }]);
    expect(h.probe.written.get('caught')).toEqual([expect.objectContaining({ stepId: 'load' })]);
    const skipped = ofType(events, 'step.finished')
      .filter((e) => e.status === 'skipped')
      .map((e) => e.stepId);
    expect(skipped).toEqual(['src', 'dbl']);
    expect(eventProblems(events)).toEqual([]);
  });

  it('resumes inside an if branch without evaluating the condition', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 1 } },
        { id: 'check', if: 'false', then: [{ id: 'dbl', use: 'test.double' }] },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result } = await h.run(flow, { resume: { stepId: 'dbl', records: [{ n: 21 }] } });
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([{ n: 42 }]);
  });

  it('refuses to resume inside a forEach or at an unknown step', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [{ id: 'each', forEach: '{{ [1, 2] }}', do: [{ id: 'inner', use: 'test.echo' }] }],
    });
    const events: unknown[] = [];
    const inner = h.run(flow, { resume: { stepId: 'inner', records: [{}] }, onEvent: (e) => events.push(e) });
    await expect(inner).rejects.toBeInstanceOf(FlowValidationError);
    await expect(inner).rejects.toThrow(/resume\.stepId: step "inner" is inside the forEach of step "each"/);
    await expect(h.run(flow, { resume: { stepId: 'ghost', records: [] } })).rejects.toThrow(
      /resume\.stepId: no step "ghost" in the flow/,
    );
    expect(events).toEqual([]);
  });
});
