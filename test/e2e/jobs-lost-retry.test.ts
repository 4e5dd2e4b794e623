import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;

beforeAll(async () => {
  env = await startJobsEnv({
    workers: 1,
    apiEnv: { JOBS_LOST_POLICY: 'retry', JOBS_MAX_ATTEMPTS: '2' },
    workerEnv: { JUNCTION_LEASE_MS: '2000' },
  });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

describe('the retry policy for lost jobs', () => {
  it('fails a job whose worker was killed and runs it again as a child, up to JOBS_MAX_ATTEMPTS', async () => {
    const flowId = await env.createFlow({
      name: 'second-time-lucky',
      steps: [
        {
          id: 'nap',
          use: 'database.execute',
          connection: 'pg',
          // the first attempt hangs (and is killed); the retry is quick
          with: { sql: 'SELECT pg_sleep(CASE WHEN {{ job.attempt }} = 1 THEN 30 ELSE 0 END)' },
        },
      ],
    });
    const first = await env.run(flowId);
    await env.waitFor(first.id, ['running']);
    await env.workers[0].stop('SIGKILL');
    const lost = await env.waitFor(first.id, ['failed', 'completed', 'cancelled'], 30_000);
    expect(lost).toMatchObject({ status: 'failed', error: { type: 'WorkerLost' } });

    await env.addWorker();
    const children = await env.api.request<{ items: JobView[] }>('GET', `/api/v1/jobs?flowId=${flowId}`);
    const child = children.body.items.find((j) => j.parentJobId === first.id);
    expect(child).toMatchObject({ attempt: 2 });
    expect((await env.waitFor(child?.id ?? '')).status).toBe('completed');
  }, 90_000);
});
