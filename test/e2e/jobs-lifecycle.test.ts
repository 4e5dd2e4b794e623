import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, readSse, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;

beforeAll(async () => {
  env = await startJobsEnv({ workers: 2 });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

/** map → script (logs a line) → a second of database time, so SSE can watch it live. */
const threeSteps = (name: string) => ({
  name,
  params: { n: { type: 'integer', required: true } },
  steps: [
    {
      id: 'shape',
      use: 'transform.map',
      with: { fields: { n: '{{ params.n }}', doubled: '{{ params.n * 2 }}' } },
    },
    { id: 'note', use: 'script.run', with: { code: "console.log('seen ' + record.n); return record;" } },
    { id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(1)' } },
  ],
});

describe('jobs over the API', () => {
  it('runs a flow to completed with per-step stats and logs, live over SSE and resumable', async () => {
    const flowId = await env.createFlow(threeSteps('lifecycle'));
    const job = await env.run(flowId, { n: 21 });
    expect(job).toMatchObject({ flowId, status: 'queued', errorCount: 0 });

    const live = await readSse(env.api, job.id, { timeoutMs: 30_000 });
    expect(live.status).toBe(200);
    const types = live.events.map((e) => e.event);
    expect(types[0]).toBe('job.started');
    expect(types.at(-1)).toBe('job.finished');
    expect(types.filter((t) => t === 'step.started')).toHaveLength(3);
    expect(types.filter((t) => t === 'step.finished')).toHaveLength(3);
    expect(live.events.find((e) => e.event === 'step.log')?.data).toMatchObject({
      stepId: 'note',
      message: 'seen 21',
    });
    const ids = live.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    const done = await env.waitFor(job.id);
    expect(done.status).toBe('completed');
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    for (const step of ['shape', 'note', 'nap'])
      expect(done.stats[step]).toMatchObject({ in: 1, out: 1, errors: 0 });
    expect(done.stats.nap.durationMs).toBeGreaterThanOrEqual(900);

    const logs = await env.api.request<{ items: Array<{ message: string; stepId: string }> }>(
      'GET',
      `/api/v1/jobs/${job.id}/logs`,
    );
    expect(logs.status).toBe(200);
    expect(logs.body.items).toContainEqual(expect.objectContaining({ stepId: 'note', message: 'seen 21' }));

    // a client that lost the connection after the third event gets exactly the stored ones after it
    const stored = live.events.filter((e) => e.event !== 'step.stats');
    const resumed = await readSse(env.api, job.id, { lastEventId: stored[2].id });
    expect(resumed.events.map((e) => e.id)).toEqual(stored.slice(3).map((e) => e.id));
    expect(resumed.events.map((e) => e.data)).toEqual(stored.slice(3).map((e) => e.data));
    // and a client that saw everything is told there is nothing more
    expect((await readSse(env.api, job.id, { lastEventId: stored.at(-1)?.id })).status).toBe(204);
  }, 60_000);

  it('ends a flow whose step fails as failed, naming the step and the error', async () => {
    const flowId = await env.createFlow({
      name: 'broken',
      steps: [
        { id: 'ok', use: 'transform.map', with: { keep: true } },
        {
          id: 'bad',
          use: 'database.execute',
          connection: 'pg',
          with: { sql: 'SELECT * FROM no_such_table_e2e' },
        },
      ],
    });
    const job = await env.waitFor((await env.run(flowId)).id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ stepId: 'bad', message: expect.stringContaining('no_such_table_e2e') });
  }, 30_000);

  it('refuses params that do not match the flow, naming each one', async () => {
    const flowId = await env.createFlow(threeSteps('typed'));
    const res = await env.api.request<{ problems: Array<{ path: string; message: string }> }>(
      'POST',
      `/api/v1/flows/${flowId}/run`,
      { body: { params: { n: 'many', extra: 1 } } },
    );
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        { path: 'params.n', message: 'expected an integer, got "many"' },
        { path: 'params.extra', message: 'unknown parameter "extra"' },
      ]),
    );
  });

  it('cancels a running 30-second job within 2 seconds', async () => {
    const flowId = await env.createFlow({
      name: 'long',
      steps: [{ id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(30)' } }],
    });
    const job = await env.run(flowId);
    await env.waitFor(job.id, ['running']);
    await sleep(300);
    const asked = Date.now();
    const res = await env.api.request<JobView>('POST', `/api/v1/jobs/${job.id}/cancel`);
    expect(res.status).toBe(200);
    expect(['cancelling', 'cancelled']).toContain(res.body.status);
    const done = await env.waitFor(job.id, ['cancelled'], 5_000);
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect(done.finishedAt).not.toBeNull();
  }, 30_000);

  it('shows a job waiting for a slot with its place in line, and cancels it at once', async () => {
    const flowId = await env.createFlow({
      name: 'one-at-a-time',
      concurrency: { max: 1 },
      steps: [{ id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(30)' } }],
    });
    const first = await env.run(flowId);
    const second = await env.run(flowId);
    const third = await env.run(flowId);
    expect(second).toMatchObject({ status: 'queued', waitingForSlot: true, position: 1 });
    expect(third).toMatchObject({ waitingForSlot: true, position: 2 });

    const cancelled = await env.api.request<JobView>('POST', `/api/v1/jobs/${second.id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', waitingForSlot: false });
    expect(await env.job(third.id)).toMatchObject({ waitingForSlot: true, position: 1 });
    const again = await env.api.request('POST', `/api/v1/jobs/${second.id}/cancel`);
    expect(again.status).toBe(409);

    await env.api.request('POST', `/api/v1/jobs/${first.id}/cancel`);
    await env.waitFor(third.id, ['running']);
    await env.api.request('POST', `/api/v1/jobs/${third.id}/cancel`);
    expect((await env.waitFor(third.id)).status).toBe('cancelled');
    expect((await env.job(second.id)).startedAt).toBeNull();
  }, 60_000);

  it('answers 409 with the running job when a skip flow is busy', async () => {
    const flowId = await env.createFlow({
      name: 'skipper',
      concurrency: { max: 1, onBusy: 'skip' },
      steps: [{ id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(30)' } }],
    });
    const running = await env.run(flowId);
    const res = await env.api.request<{ message: string; runningJobId: string }>(
      'POST',
      `/api/v1/flows/${flowId}/run`,
      {
        body: { params: {} },
      },
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ runningJobId: running.id, message: expect.stringContaining('busy') });
    const list = await env.api.request<{ items: JobView[] }>('GET', `/api/v1/jobs?flowId=${flowId}`);
    expect(list.body.items.map((j) => j.id)).toEqual([running.id]);
    await env.api.request('POST', `/api/v1/jobs/${running.id}/cancel`);
    await env.waitFor(running.id);
  }, 30_000);

  it('retries a job as a child of the same version and params, and lists jobs by filter and page', async () => {
    const flowId = await env.createFlow({
      name: 'quick',
      params: { n: { type: 'integer', default: 1 } },
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { n: '{{ params.n }}' } } }],
    });
    const first = await env.waitFor((await env.run(flowId, { n: 7 })).id);
    const retried = await env.api.request<JobView>('POST', `/api/v1/jobs/${first.id}/retry`);
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ parentJobId: first.id, attempt: 2, params: { n: 7 } });
    const child = await env.waitFor(retried.body.id);
    expect(child).toMatchObject({ status: 'completed', output: { n: 7 } });

    const page1 = await env.api.request<{ items: JobView[]; nextCursor: string | null }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=completed&limit=1`,
    );
    expect(page1.body.items.map((j) => j.id)).toEqual([child.id]);
    expect(page1.body.nextCursor).not.toBeNull();
    const page2 = await env.api.request<{ items: JobView[]; nextCursor: string | null }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=completed&limit=1&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body).toEqual({ items: [expect.objectContaining({ id: first.id })], nextCursor: null });
    const bad = await env.api.request('GET', '/api/v1/jobs?status=sleeping');
    expect(bad.status).toBe(400);
  }, 30_000);

  it('serves job metrics', async () => {
    const res = await env.api.request<string>('GET', '/metrics');
    expect(res.status).toBe(200);
    for (const name of [
      'junction_jobs_stuck',
      'junction_jobs{',
      'junction_queue_jobs{',
      'junction_job_duration_seconds_bucket',
      'junction_step_duration_seconds_bucket',
      'junction_records_processed_total',
      'junction_jobs_finished_total{',
    ])
      expect(res.text).toContain(name);
  });
});
