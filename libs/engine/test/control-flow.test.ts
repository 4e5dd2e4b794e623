import { describe, expect, it } from 'vitest';
import { eventProblems } from './support/event-checks.ts';
import { harness, ofType } from './support/test-connectors.ts';

describe('if/then/else', () => {
  const flowWith = (h: ReturnType<typeof harness>, condition: string) =>
    h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        {
          id: 'check',
          if: condition,
          then: [{ id: 'yes', use: 'test.collect', with: { name: 'then' } }],
          else: [{ id: 'no', use: 'test.collect', with: { name: 'else' } }],
        },
        { id: 'after', use: 'test.collect', with: { name: 'after' } },
      ],
    });

  it('sends the whole stream down the branch the condition picks, with `record` the first record', async () => {
    const h = harness();
    const { result, events } = await h.run(flowWith(h, 'record.n = 0 and steps.src.stats.out > 0'));
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('then')).toHaveLength(3);
    expect(h.probe.written.get('else')).toBeUndefined();
    expect(h.probe.written.get('after')).toHaveLength(3);
    expect(result.stats.check).toMatchObject({ in: 3, out: 3 });
    const skipped = ofType(events, 'step.finished').filter((e) => e.status === 'skipped');
    expect(skipped.map((e) => e.stepId)).toEqual(['no']);
    expect(eventProblems(events)).toEqual([]);
  });

  it('takes else when the condition is false, accepting {{ }} around it', async () => {
    const h = harness();
    const { result } = await h.run(flowWith(h, '{{ record.n > 5 }}'));
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('then')).toBeUndefined();
    expect(h.probe.written.get('else')).toHaveLength(3);
  });

  it('passes the input through when no branch runs', async () => {
    const h = harness();
    const flow = h.flow({
      params: { go: { type: 'boolean', default: false } },
      steps: [
        { id: 'src', use: 'test.count', with: { count: 2 } },
        { id: 'check', if: 'params.go', then: [{ id: 'dbl', use: 'test.double' }] },
        { id: 'after', use: 'test.collect' },
      ],
    });
    await h.run(flow);
    expect(h.probe.written.get('out')).toEqual([{ n: 0 }, { n: 1 }]);
    await h.run(flow, { params: { go: true } });
    expect(h.probe.written.get('out')).toEqual([{ n: 0 }, { n: 1 }, { n: 0 }, { n: 2 }]);
  });
});

describe('forEach', () => {
  it('runs `do` once per list item, with the item bound and as input when it is an object', async () => {
    const h = harness();
    const flow = h.flow({
      params: { people: { type: 'json', default: [{ name: 'ada' }, { name: 'bob' }, 'carol'] } },
      steps: [
        {
          id: 'each',
          forEach: '{{ params.people }}',
          as: 'person',
          do: [{ id: 'greet', use: 'test.echo', with: { who: '{{ person.name ? person.name : person }}' } }],
        },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([
      { name: 'ada', who: 'ada' },
      { name: 'bob', who: 'bob' },
      { who: 'carol' },
    ]);
    // the step inside the loop reports once, with the counts of all iterations, before the loop
    const finished = ofType(events, 'step.finished').map((e) => [e.stepId, e.stats.in]);
    expect(finished).toEqual([
      ['greet', 3],
      ['each', 1],
      ['out', 3],
    ]);
    expect(ofType(events, 'step.started').filter((e) => e.stepId === 'greet')).toHaveLength(1);
    expect(eventProblems(events)).toEqual([]);
  });

  it('treats a single value as a list of one and nothing as an empty list', async () => {
    const h = harness();
    const flow = h.flow({
      params: { items: { type: 'json' } },
      steps: [
        {
          id: 'each',
          forEach: '{{ params.items }}',
          do: [{ id: 'e', use: 'test.echo', with: { v: '{{ item }}' } }],
        },
      ],
    });
    const one = await h.run(flow, { params: { items: '{"a": 1}' } });
    expect(one.result.output).toEqual({ a: 1, v: { a: 1 } });
    const none = await h.run(flow, { params: {} });
    expect(none.result.status).toBe('completed');
    expect(none.result.output).toBeUndefined();
    expect(none.events.find((e) => e.type === 'step.finished' && e.stepId === 'e')).toMatchObject({
      status: 'skipped',
    });
  });

  it('with `records`, runs `do` once per incoming record, outputs concatenated in order', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3, pageSize: 2 } },
        {
          id: 'each',
          forEach: 'records',
          do: [
            {
              id: 'copies',
              use: 'test.emit',
              with: { records: '{{ [{"n": item.n}, {"n": record.n * 10}] }}' },
            },
          ],
        },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')!.map((r) => r.n)).toEqual([0, 0, 1, 10, 2, 20]);
    expect(result.stats.copies).toMatchObject({ in: 3, out: 6 });
    expect(result.stats.each).toMatchObject({ in: 3, out: 6 });
  });
});

describe('try/catch/finally', () => {
  it('runs catch with `error` in scope when a step in try fails, then finally; the job completes', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'guard',
          try: [{ id: 'risky', use: 'test.fail', with: { message: 'the API said no' } }],
          catch: [
            { id: 'handle', use: 'test.echo', with: { caught: '{{ error.message }} in {{ error.stepId }}' } },
          ],
          finally: [{ id: 'cleanup', use: 'test.echo', with: { failed: '{{ $exists(error) }}' } }],
        },
        { id: 'after', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([
      { message: 'the API said no', stepId: 'risky', type: 'Error', caught: 'the API said no in risky' },
    ]);
    expect(h.probe.calls.get('echo:cleanup')).toBe(1);
    const status = Object.fromEntries(ofType(events, 'step.finished').map((e) => [e.stepId, e.status]));
    expect(status).toMatchObject({
      risky: 'failed',
      handle: 'completed',
      cleanup: 'completed',
      guard: 'completed',
    });
    expect(eventProblems(events)).toEqual([]);
  });

  it("passes try's output on when nothing fails, skipping catch", async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 2 } },
        {
          id: 'guard',
          try: [{ id: 'dbl', use: 'test.double' }],
          catch: [{ id: 'handle', use: 'test.echo' }],
          finally: [{ id: 'cleanup', use: 'test.echo' }],
        },
        { id: 'after', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual([{ n: 0 }, { n: 2 }]);
    expect(h.probe.calls.get('echo:handle')).toBeUndefined();
    expect(h.probe.calls.get('echo:cleanup')).toBe(1);
    expect(events.find((e) => e.type === 'step.finished' && e.stepId === 'handle')).toMatchObject({
      status: 'skipped',
    });
  });

  it('without catch, runs finally and fails the job with the inner step’s error', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'guard',
          try: [{ id: 'risky', use: 'test.fail', with: { message: 'nope' } }],
          finally: [{ id: 'cleanup', use: 'test.echo' }],
        },
        { id: 'after', use: 'test.collect' },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ stepId: 'risky', message: 'nope' });
    expect(h.probe.calls.get('echo:cleanup')).toBe(1);
    expect(h.probe.written.get('out')).toBeUndefined();
    expect(eventProblems(events)).toEqual([]);
  });

  it('fails the job when catch itself fails', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        {
          id: 'guard',
          try: [{ id: 'risky', use: 'test.fail', with: { message: 'first' } }],
          catch: [{ id: 'handler', use: 'test.fail', with: { message: 'second' } }],
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ stepId: 'handler', message: 'second' });
  });
});
