import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiProcess } from './support/api-process.ts';

// Retrying every failed record of a job with many of them: child jobs of at most 5,000 records
// each, read a page at a time (never all at once). No worker runs here: the children stay queued.

let api: ApiProcess;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('retry errors at scale', () => {
  it('splits 12,000 open errors into children of 5,000, 5,000 and 2,000, each error claimed once', async () => {
    const flow = await api.request<{ id: string }>('POST', '/api/v1/flows', {
      body: { name: 'many-errors', steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }] },
    });
    const [version] = await api.query<{ id: string }>(`SELECT id FROM flow_versions WHERE flow_id = $1`, [
      flow.body.id,
    ]);
    const [parent] = await api.query<{ id: string }>(
      `INSERT INTO jobs (id, flow_id, flow_version_id, status, trigger, finished_at, error_count)
       VALUES (gen_random_uuid(), $1, $2, 'completed', '{"type":"manual"}', now(), 12000) RETURNING id`,
      [flow.body.id, version.id],
    );
    await api.query(
      `INSERT INTO job_errors (job_id, seq, step_id, message, record, created_at)
       SELECT $1, g, 'a', 'bad', jsonb_build_object('n', g), now() FROM generate_series(1, 12000) g`,
      [parent.id],
    );

    const res = await api.request<{ jobs: Array<{ id: string; resume: { stepId: string } }> }>(
      'POST',
      `/api/v1/jobs/${parent.id}/retry-errors`,
      { body: {} },
    );
    expect(res.status).toBe(201);
    expect(res.body.jobs).toHaveLength(3);
    const counts = await api.query<{ job: string; n: number; first: number }>(
      `SELECT retried_by_job_id AS job, count(*)::int AS n, min(seq)::int AS first
         FROM job_errors WHERE job_id = $1 GROUP BY retried_by_job_id ORDER BY first`,
      [parent.id],
    );
    expect(counts.map((c) => c.n)).toEqual([5000, 5000, 2000]);
    expect(counts.map((c) => c.job)).toEqual(res.body.jobs.map((j) => j.id));
    // the children are listed by their parent, newest first
    const children = await api.request<{ items: Array<{ id: string; parentJobId: string }> }>(
      'GET',
      `/api/v1/jobs?parentJobId=${parent.id}`,
    );
    expect(children.body.items.map((j) => j.id)).toEqual(res.body.jobs.map((j) => j.id).reverse());
    const bad = await api.request('GET', '/api/v1/jobs?parentJobId=nope');
    expect(bad.status).toBe(400);
    // nothing left to retry
    const again = await api.request<{ message: string }>('POST', `/api/v1/jobs/${parent.id}/retry-errors`, {
      body: {},
    });
    expect(again.status).toBe(400);
    expect(again.body.message).toBe(`job ${parent.id} has no open errors to retry`);
  });
});
