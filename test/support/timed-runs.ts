/**
 * For tests of per-flow concurrency: a table where flows record when each run starts and
 * finishes (written by the run itself, through a `pg` connection), and checks on those times.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PG_URL, type JobView, type JobsEnv } from './jobs-env.ts';

export interface Run {
  job_id: string;
  flow: string;
  n: number;
  started_at: Date;
  finished_at: Date | null;
}

export interface RunsTable {
  readonly name: string;
  /** The runs of a flow, by start time. */
  runs(flow: string): Promise<Run[]>;
  drop(): Promise<void>;
}

export async function createRunsTable(): Promise<RunsTable> {
  const name = `e2e_runs_${randomBytes(4).toString('hex')}`;
  const db = new pg.Pool({ connectionString: PG_URL, max: 2 });
  await db.query(
    `CREATE TABLE ${name} (job_id uuid, flow text, n int, started_at timestamptz, finished_at timestamptz)`,
  );
  return {
    name,
    runs: async (flow) =>
      (await db.query<Run>(`SELECT * FROM ${name} WHERE flow = $1 ORDER BY started_at`, [flow])).rows,
    async drop() {
      await db.query(`DROP TABLE IF EXISTS ${name}`);
      await db.end();
    },
  };
}

/**
 * A flow (param `n`) that records its start, sleeps `sleepMs` in PostgreSQL, and records its
 * finish; it needs a stored connection named `pg`.
 */
export function timedFlow(table: RunsTable, name: string, max: number, sleepMs = 50) {
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
          sql: `INSERT INTO ${table.name} (job_id, flow, n, started_at) VALUES ({{ job.id }}::uuid, '${name}', {{ params.n }}, clock_timestamp())`,
        },
      },
      {
        id: 'work',
        use: 'database.execute',
        connection: 'pg',
        with: { sql: `SELECT pg_sleep(${sleepMs / 1000})` },
      },
      {
        id: 'end',
        use: 'database.execute',
        connection: 'pg',
        with: {
          sql: `UPDATE ${table.name} SET finished_at = clock_timestamp() WHERE job_id = {{ job.id }}::uuid`,
        },
      },
    ],
  };
}

/** Runs (in start order) that started before the one before them had finished. */
export function overlapping(runs: readonly Run[]): Array<{ job: string; startedBefore: string }> {
  const out: Array<{ job: string; startedBefore: string }> = [];
  for (let i = 1; i < runs.length; i++) {
    const previousEnd = runs[i - 1].finished_at;
    if (previousEnd === null || runs[i].started_at.getTime() < previousEnd.getTime())
      out.push({ job: runs[i].job_id, startedBefore: runs[i - 1].job_id });
  }
  return out;
}

/** The most runs in progress at any moment. */
export function peakOverlap(runs: readonly Run[]): number {
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

/** Waits until `count` jobs of the flow have ended; answers them (at most 500). */
export async function waitFinished(
  env: JobsEnv,
  flowId: string,
  count: number,
  timeoutMs: number,
): Promise<JobView[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = await env.api.request<{ items: JobView[] }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=completed,failed,cancelled&limit=500`,
    );
    if (list.body.items.length >= count) return list.body.items;
    if (Date.now() > end)
      throw new Error(`${count - list.body.items.length} jobs not finished in ${timeoutMs} ms`);
    await sleep(250);
  }
}
