import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;
let db: pg.Pool;
const table = `e2e_runs_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  db = new pg.Pool({ connectionString: PG_URL, max: 2 });
  await db.query(
    `CREATE TABLE ${table} (job_id uuid, flow text, n int, started_at timestamptz, finished_at timestamptz)`,
  );
  env = await startJobsEnv({ workers: 2, workerEnv: { WORKER_CONCURRENCY: '4' } });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await db?.query(`DROP TABLE IF EXISTS ${table}`);
  await db?.end();
});

/** A flow that records when each of its runs starts and finishes, with a 50 ms step between. */
function timedFlow(name: string, max: number) {
  return {
    name,
    concurrency: { max },
    params: { n: { type: 'integer', required: true } },
    steps: [
      {
        id: 'begin',
        use: 'database.execute',
        connection: 'pg',
        with: {
          sql: `INSERT INTO ${table} (job_id, flow, n, started_at) VALUES ({{ job.id }}::uuid, '${name}', {{ params.n }}, clock_timestamp())`,
        },
      },
      { id: 'work', use: 'database.execute', connection: 'pg', with: { sql: 'SELECT pg_sleep(0.05)' } },
      {
        id: 'end',
        use: 'database.execute',
        connection: 'pg',
        with: {
          sql: `UPDATE ${table} SET finished_at = clock_timestamp() WHERE job_id = {{ job.id }}::uuid`,
        },
      },
    ],
  };
}

interface Run {
  job_id: string;
  n: number;
  started_at: Date;
  finished_at: Date | null;
}

async function fire(flowId: string, count: number): Promise<JobView[]> {
  // all requests at once; each carries its number
  return Promise.all(Array.from({ length: count }, (_, n) => env.run(flowId, { n })));
}

async function waitAll(jobs: readonly JobView[], timeoutMs: number): Promise<JobView[]> {
  const end = Date.now() + timeoutMs;
  const done = new Map<string, JobView>();
  while (done.size < jobs.length) {
    if (Date.now() > end) throw new Error(`${jobs.length - done.size} jobs not finished in ${timeoutMs} ms`);
    const list = await env.api.request<{ items: JobView[] }>(
      'GET',
      `/api/v1/jobs?flowId=${jobs[0].flowId}&status=completed,failed,cancelled&limit=500`,
    );
    for (const j of list.body.items) done.set(j.id, j);
    if (done.size < jobs.length) await new Promise((r) => setTimeout(r, 250));
  }
  return jobs.map((j) => done.get(j.id) as JobView);
}

function peakOverlap(runs: readonly Run[]): number {
  const points = runs.flatMap((r) => [
    { t: r.started_at.getTime(), d: 1 },
    { t: (r.finished_at ?? r.started_at).getTime(), d: -1 },
  ]);
  // a run that finishes at the very moment another starts does not overlap it
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const p of points) {
    now += p.d;
    peak = Math.max(peak, now);
  }
  return peak;
}

describe('per-flow concurrency', () => {
  it('runs 200 requests fired at once one at a time, in the order they were accepted', async () => {
    const flowId = await env.createFlow(timedFlow('one-by-one', 1));
    const jobs = await fire(flowId, 200);
    // while one runs, the others wait in line (some may find the slot free when they arrive)
    const waiting = jobs.filter((j) => j.waitingForSlot);
    expect(waiting.length).toBeGreaterThan(100);
    expect(waiting.every((j) => (j.position ?? 0) >= 1)).toBe(true);

    const finished = await waitAll(jobs, 120_000);
    expect(
      finished.filter((j) => j.status !== 'completed').map((j) => ({ status: j.status, error: j.error })),
    ).toEqual([]);

    const runs = (await db.query<Run>(`SELECT * FROM ${table} WHERE flow = 'one-by-one' ORDER BY started_at`))
      .rows;
    expect(runs).toHaveLength(200);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i - 1].finished_at).not.toBeNull();
      // no two runs overlap: each starts after the previous one finished
      expect(runs[i].started_at.getTime()).toBeGreaterThanOrEqual(
        (runs[i - 1].finished_at as Date).getTime(),
      );
    }
    // the order they ran in is the order the API accepted them (committed them: jobs.seq; the
    // requests of one moment are inserted together, so createdAt alone can tie)
    const accepted = await env.api.query<{ id: string }>(
      `SELECT id FROM jobs WHERE flow_id = $1 ORDER BY seq`,
      [flowId],
    );
    expect(runs.map((r) => r.job_id)).toEqual(accepted.map((j) => j.id));
  }, 180_000);

  it('never runs more than 3 at once with max 3, and does run 3 at once', async () => {
    const flowId = await env.createFlow(timedFlow('three-wide', 3));
    const jobs = await fire(flowId, 60);
    const finished = await waitAll(jobs, 120_000);
    expect(
      finished.filter((j) => j.status !== 'completed').map((j) => ({ status: j.status, error: j.error })),
    ).toEqual([]);
    const runs = (await db.query<Run>(`SELECT * FROM ${table} WHERE flow = 'three-wide'`)).rows;
    expect(runs).toHaveLength(60);
    expect(peakOverlap(runs)).toBe(3);
  }, 180_000);
});
