import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisNames } from '@junction/protocol';
import { startApi, type ApiProcess } from './support/api-process.ts';

// Old finished jobs go after JOBS_RETENTION_DAYS, with what hangs off them; the rest stays.

let api: ApiProcess;

beforeAll(async () => {
  api = await startApi({ env: { JOBS_RETENTION_DAYS: '7', JOBS_RETENTION_INTERVAL_MS: '200' } });
});

afterAll(async () => {
  await api?.stop();
});

describe('job retention', () => {
  it('deletes finished jobs older than the retention with their logs and errors, and nothing else', async () => {
    const flow = await api.request<{ id: string }>('POST', '/api/v1/flows', {
      body: { name: 'kept-or-not', steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }] },
    });
    expect(flow.status).toBe(201);
    const [version] = await api.query<{ id: string }>(`SELECT id FROM flow_versions WHERE flow_id = $1`, [
      flow.body.id,
    ]);
    const [old, oldFailed, recent, stillRunning] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // one statement: a retention pass (every 200 ms) must not delete a job before its rows are in
    await api.query(
      `WITH j AS (
         INSERT INTO jobs (id, flow_id, flow_version_id, status, trigger, created_at, finished_at)
         SELECT v.id::uuid, $1, $2, v.status, '{"type":"manual"}', now() - interval '40 days',
                CASE WHEN v.days IS NULL THEN NULL ELSE now() - make_interval(days => v.days) END
           FROM (VALUES ($3, 'completed', 10), ($4, 'failed', 8), ($5, 'completed', 2),
                        ($6, 'running', NULL::int)) AS v(id, status, days)),
       l AS (
         INSERT INTO job_logs (job_id, seq, at, level, message) VALUES ($3::uuid, 1, now(), 'info', 'old line'))
       INSERT INTO job_errors (job_id, seq, step_id, message, record, created_at)
       VALUES ($4::uuid, 2, 'a', 'bad', '{}', now())`,
      [flow.body.id, version.id, old, oldFailed, recent, stillRunning],
    );

    const deadline = Date.now() + 10_000;
    let left: string[];
    for (;;) {
      left = (await api.query<{ id: string }>(`SELECT id FROM jobs WHERE flow_id = $1`, [flow.body.id])).map(
        (r) => r.id,
      );
      if (left.length === 2 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(left.sort()).toEqual([recent, stillRunning].sort());
    const orphans = await api.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM job_logs WHERE job_id = ANY($1::uuid[]))::int
            + (SELECT count(*) FROM job_errors WHERE job_id = ANY($1::uuid[]))::int AS n`,
      [[old, oldFailed]],
    );
    expect(orphans[0].n).toBe(0);
    const metrics = await api.request<string>('GET', '/metrics');
    expect(metrics.text).toMatch(/^junction_jobs_purged_total(\{[^}]*\})? 2$/m);
  });

  it('removes the stored flow versions of deleted flows from Redis, and keeps the others', async () => {
    const create = async (name: string) =>
      (
        await api.request<{ id: string }>('POST', '/api/v1/flows', {
          body: { name, steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }] },
        })
      ).body.id;
    const kept = await create('version-kept');
    const gone = await create('version-gone');
    // a run stores the version where workers read it (no worker here: the job stays queued)
    for (const id of [kept, gone]) {
      const run = await api.request<{ id: string }>('POST', `/api/v1/flows/${id}/run`, { body: {} });
      await api.request('POST', `/api/v1/jobs/${run.body.id}/cancel`);
    }
    const versionOf = async (flowId: string) =>
      (await api.query<{ id: string }>(`SELECT id FROM flow_versions WHERE flow_id = $1`, [flowId]))[0].id;
    const [keptVersion, goneVersion] = [await versionOf(kept), await versionOf(gone)];
    const redis = new Redis(api.env.REDIS_URL);
    try {
      const key = (v: string) => `${redisNames(api.env.JUNCTION_REDIS_PREFIX).flowVersionPrefix}:${v}`;
      expect(await redis.exists(key(keptVersion), key(goneVersion))).toBe(2);
      expect((await api.request('DELETE', `/api/v1/flows/${gone}`)).status).toBe(204);
      const end = Date.now() + 10_000;
      while ((await redis.exists(key(goneVersion))) === 1 && Date.now() < end) await sleep(100);
      expect(await redis.exists(key(goneVersion))).toBe(0);
      expect(await redis.exists(key(keptVersion))).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});
