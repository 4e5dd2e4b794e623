import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiProcess } from '../../apps/api/test/support/api-process.ts';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

// The API is killed (SIGKILL: no shutdown) while jobs run and wait, and another API process
// comes up on the same database and Redis: what the dead one had read from the event stream
// but not stored is taken over, and every job ends.

let env: JobsEnv;
let successor: ApiProcess | undefined;

beforeAll(async () => {
  env = await startJobsEnv({ workers: 2 });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await successor?.stop();
  await env?.stop();
});

describe('an API process killed mid-run', () => {
  it('leaves nothing unfinished once another API process is up', async () => {
    const flowId = await env.createFlow({
      name: 'outlives-its-api',
      concurrency: { max: 2 },
      steps: [
        { id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(0.5)' } },
      ],
    });
    const jobs: JobView[] = [];
    for (let i = 0; i < 6; i++) jobs.push(await env.run(flowId));
    await env.waitFor(jobs[0].id, ['running'], 10_000);

    env.api.process.kill('SIGKILL');
    await once(env.api.process, 'exit');
    // the same database and Redis prefix, a new process (and consumer name)
    const next = await startApi({ replicaOf: env.api, timeoutMs: 120_000 });
    successor = next;
    const ask = (id: string) => next.request<JobView>('GET', `/api/v1/jobs/${id}`);
    const end = Date.now() + 90_000;
    let states: string[] = [];
    while (Date.now() < end) {
      states = await Promise.all(jobs.map(async (j) => (await ask(j.id)).body.status));
      if (states.every((s) => s === 'completed' || s === 'failed' || s === 'cancelled')) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(states).toEqual(jobs.map(() => 'completed'));
  }, 150_000);
});
