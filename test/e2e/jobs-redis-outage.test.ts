import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../apps/api/test/support/api-process.ts';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

// A Redis of the test's own (the shared one serves other suites), stopped and started again
// empty while jobs run and wait: a crash of a Redis that keeps nothing on disk.

let redis: ChildProcess | undefined;
let redisPort: number;
let env: JobsEnv;

async function startRedis(): Promise<void> {
  redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      const socket = connect(redisPort, '127.0.0.1');
      await once(socket, 'connect');
      socket.destroy();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('the test Redis did not start');
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  const redisEnv = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  env = await startJobsEnv({
    workers: 1,
    apiEnv: redisEnv,
    workerEnv: { ...redisEnv, JUNCTION_LEASE_MS: '2000' },
  });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await stopRedis();
});

async function ready(): Promise<number> {
  return (await env.api.request('GET', '/ready')).status;
}

describe('Redis lost and back, empty', () => {
  it('ends every job (none stays queued or running) and serves again, without restarting anything', async () => {
    const flowId = await env.createFlow({
      name: 'through-an-outage',
      concurrency: { max: 1 },
      steps: [{ id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(1)' } }],
    });
    const first = await env.run(flowId);
    const waiting = [await env.run(flowId), await env.run(flowId)];
    await env.waitFor(first.id, ['running'], 10_000);

    await stopRedis();
    // not ready while Redis is gone, and a run request is still accepted: the job waits in
    // PostgreSQL for the reconciler
    const end = Date.now() + 10_000;
    while ((await ready()) !== 503 && Date.now() < end) await sleep(200);
    expect(await ready()).toBe(503);
    const during = await env.api.request<JobView>('POST', `/api/v1/flows/${flowId}/run`, { body: {} });
    expect(during.status).toBe(201);

    await startRedis();
    const jobs = [first, ...waiting, during.body];
    const finished = await Promise.all(jobs.map((j) => env.waitFor(j.id, undefined, 60_000)));
    // the ones that had not started run to the end; the one running when Redis went may have
    // lost its lease (failed) or finished: either way it ended
    expect(finished.slice(1).map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
    expect(['completed', 'failed']).toContain(finished[0].status);
    const active = await env.api.request<{ items: JobView[] }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=queued,running,cancelling`,
    );
    expect(active.body.items).toEqual([]);
    expect(await ready()).toBe(200);
    // and new runs work as before
    const after = await env.run(flowId);
    expect((await env.waitFor(after.id, undefined, 30_000)).status).toBe('completed');
  }, 150_000);
});
