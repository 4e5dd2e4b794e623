import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;

beforeAll(async () => {
  // short leases, so a dead worker is noticed within seconds
  env = await startJobsEnv({ workers: 2, workerEnv: { JUNCTION_LEASE_MS: '2000' } });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

describe('a worker killed mid-job', () => {
  it('ends the job as failed (worker lost), frees the flow for the next job and leaves nothing running', async () => {
    const flowId = await env.createFlow({
      name: 'doomed',
      concurrency: { max: 1 },
      steps: [{ id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(30)' } }],
    });
    const victim = await env.run(flowId);
    const running = (await env.waitFor(victim.id, ['running'])) as JobView & { workerId: string };
    const next = await env.run(flowId);
    expect(next).toMatchObject({ waitingForSlot: true, position: 1 });

    const worker = env.workers.find((w) => w.workerId === running.workerId);
    expect(worker).toBeDefined();
    const killedAt = Date.now();
    await worker?.stop('SIGKILL');

    const lost = await env.waitFor(victim.id, ['failed', 'completed', 'cancelled'], 30_000);
    expect(lost.status).toBe('failed');
    expect(lost.error).toMatchObject({ type: 'WorkerLost', message: expect.stringContaining('worker lost') });
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    // the slot is free: the waiting job runs on the surviving worker
    const started = (await env.waitFor(next.id, ['running'], 20_000)) as JobView & { workerId: string };
    expect(started.workerId).not.toBe(running.workerId);
    await env.api.request('POST', `/api/v1/jobs/${next.id}/cancel`);
    expect((await env.waitFor(next.id)).status).toBe('cancelled');

    const active = await env.api.request<{ items: JobView[] }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=queued,running,cancelling`,
    );
    expect(active.body.items).toEqual([]);
    const metrics = await env.api.request<string>('GET', '/metrics');
    expect(metrics.text).toMatch(/junction_jobs_stuck\{[^}]*kind="worker_lost"[^}]*\} [1-9]/);
  }, 90_000);

  it('lets a new worker take over jobs queued while no worker was alive', async () => {
    const flowId = await env.createFlow({
      name: 'patient',
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { ok: true } } }],
    });
    await Promise.all(env.workers.map((w) => w.stop('SIGKILL')));
    const job = await env.run(flowId);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await env.job(job.id)).status).toBe('queued');
    await env.addWorker();
    expect((await env.waitFor(job.id)).status).toBe('completed');
  }, 60_000);

  it('puts back queued jobs that Redis lost (a restart without persistence), in order, from PostgreSQL', async () => {
    const flowId = await env.createFlow({
      name: 'forgotten',
      concurrency: { max: 1 },
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { ok: true } } }],
    });
    await Promise.all(env.workers.map((w) => w.stop('SIGKILL')));
    const jobs = [await env.run(flowId), await env.run(flowId), await env.run(flowId)];
    // every key of this deployment gone: queue, gate, streams
    const prefix = env.api.env.JUNCTION_REDIS_PREFIX;
    const redis = new Redis(env.api.env.REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await env.addWorker();
    const finished = await Promise.all(jobs.map((j) => env.waitFor(j.id, undefined, 30_000)));
    expect(finished.map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
    // re-admitted in the order PostgreSQL has them: still one at a time, oldest first
    const starts = finished.map((j) => Date.parse(j.startedAt ?? ''));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    const metrics = await env.api.request<string>('GET', '/metrics');
    expect(metrics.text).toMatch(/junction_jobs_stuck\{[^}]*kind="readmitted"[^}]*\} [3-9]/);
  }, 60_000);

  it('puts back queued jobs of an unlimited flow (not gated) that Redis lost, each run once', async () => {
    const flowId = await env.createFlow({
      name: 'forgotten-unlimited',
      concurrency: { max: 'unlimited' },
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { ok: true } } }],
    });
    await Promise.all(env.workers.map((w) => w.stop('SIGKILL')));
    const jobs = await Promise.all([env.run(flowId), env.run(flowId), env.run(flowId)]);
    const prefix = env.api.env.JUNCTION_REDIS_PREFIX;
    const redis = new Redis(env.api.env.REDIS_URL);
    try {
      await redis.del(...(await redis.keys(`${prefix}:*`)));
      await env.addWorker();
      const finished = await Promise.all(jobs.map((j) => env.waitFor(j.id, undefined, 30_000)));
      expect(finished.map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
      // each ran once: BullMQ counts the starts of a job id
      const starts = await Promise.all(
        jobs.map((j) => redis.hget(`${prefix}:bull:junction-runs:${j.id}`, 'ats')),
      );
      expect(starts).toEqual(['1', '1', '1']);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
