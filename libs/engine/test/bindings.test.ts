import { describe, expect, it } from 'vitest';
import { harness, ofType } from './support/test-connectors.ts';

describe('template bindings', () => {
  it('gives each step the output, first records and counts of the steps before it', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 250 } },
        { id: 'dbl', use: 'test.double' },
        // a source runs what came before it to the end: its `with` sees final counts
        {
          id: 'summary',
          use: 'test.count',
          with: { count: '{{ $count(steps.dbl.records) }}', pageSize: '{{ steps.dbl.stats.out }}' },
        },
        {
          id: 'report',
          use: 'test.echo',
          with: {
            first: '{{ steps.dbl.output.n }}',
            last: '{{ steps.dbl.records[-1].n }}',
            total: '{{ steps.src.stats.out }}',
            summarised: '{{ steps.summary.stats.out }}',
          },
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(result.stats.summary.out).toBe(100);
    expect(result.output).toEqual({ n: 0, first: 0, last: 198, total: 250, summarised: 100 });
  });

  it('binds params, trigger, settings, job and env', async () => {
    const h = harness();
    const flow = h.flow({
      params: { limit: { type: 'integer', default: 5 }, name: { type: 'string' } },
      settings: { region: 'eu', pageSize: 50 },
      steps: [
        {
          id: 'all',
          use: 'test.echo',
          with: {
            limit: '{{ params.limit }}',
            name: '{{ params.name }}',
            body: '{{ trigger.payload.id }}',
            header: '{{ trigger.headers."x-id" }}',
            query: '{{ trigger.query.q }}',
            region: '{{ settings.region }}',
            tier: '{{ settings.tier }}',
            pageSize: '{{ settings.pageSize }}',
            job: '{{ job.id }}/{{ job.attempt }}',
            home: '{{ env.HOME_DIR }}',
            text: 'limit={{ params.limit }}, id={{ trigger.payload.id }}',
          },
        },
      ],
    });
    const { result } = await h.run(flow, {
      params: { name: 'ada' },
      trigger: { payload: { id: 7 }, headers: { 'x-id': 'h1' }, query: { q: 'search' } },
      settings: { region: 'us', tier: 'gold' },
      job: { id: 'job-1', attempt: 2 },
      env: { HOME_DIR: '/srv' },
    });
    expect(result.output).toEqual({
      id: 7,
      limit: 5,
      name: 'ada',
      body: 7,
      header: 'h1',
      query: 'search',
      region: 'eu',
      tier: 'gold',
      pageSize: 50,
      job: 'job-1/2',
      home: '/srv',
      text: 'limit=5, id=7',
    });
  });

  it('evaluates action templates per record', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        {
          id: 'label',
          use: 'test.echo',
          with: { label: 'item {{ record.n + 1 }}', nested: { sq: '{{ record.n * record.n }}' } },
        },
        { id: 'out', use: 'test.collect' },
      ],
    });
    await h.run(flow);
    expect(h.probe.written.get('out')).toEqual([
      { n: 0, label: 'item 1', nested: { sq: 0 } },
      { n: 1, label: 'item 2', nested: { sq: 1 } },
      { n: 2, label: 'item 3', nested: { sq: 4 } },
    ]);
  });
});

describe('raw fields', () => {
  it('passes rawFields to the operation untouched, for it to compile against the run’s bindings', async () => {
    const h = harness();
    const flow = h.flow({
      params: { factor: { type: 'integer', default: 3 } },
      steps: [
        { id: 'src', use: 'test.count', with: { count: 4 } },
        {
          id: 'map',
          use: 'test.map',
          with: {
            fields: { times: '{{ record.n * params.factor }}', label: 'n={{ record.n }}' },
            note: 'factor {{ params.factor }}',
          },
          onError: 'continue',
        },
        { id: 'out', use: 'test.collect' },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.status).toBe('completed');
    expect(h.probe.written.get('out')).toEqual(
      [0, 1, 2, 3].map((n) => ({ n, times: n * 3, label: `n=${n}`, note: 'factor 3' })),
    );
  });

  it('reports a record a raw field fails on as a record error', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        {
          id: 'map',
          use: 'test.map',
          with: { fields: { x: '{{ record.n = 2 ? $error("two is not allowed") : record.n }}' } },
          onError: 'continue',
        },
      ],
    });
    const { result, events } = await h.run(flow);
    expect(result.errorCount).toBe(1);
    expect(ofType(events, 'record.error')[0]).toMatchObject({ stepId: 'map', record: { n: 2 } });
    expect(ofType(events, 'record.error')[0].message).toContain('two is not allowed');
  });
});
