import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';
import {
  createRunsTable,
  overlapping,
  peakOverlap,
  timedFlow,
  waitFinished,
  type RunsTable,
} from '../support/timed-runs.ts';

let env: JobsEnv;
let table: RunsTable;

beforeAll(async () => {
  table = await createRunsTable();
  env = await startJobsEnv({ workers: 2, workerEnv: { WORKER_CONCURRENCY: '4' } });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await table?.drop();
});

async function fire(flowId: string, count: number): Promise<JobView[]> {
  // all requests at once; each carries its number
  return Promise.all(Array.from({ length: count }, (_, n) => env.run(flowId, { n })));
}

describe('per-flow concurrency', () => {
  it('runs 200 requests fired at once one at a time, in the order they were accepted', async () => {
    const flowId = await env.createFlow(timedFlow(table, 'one-by-one', 1));
    const jobs = await fire(flowId, 200);
    // while one runs, the others wait in line (some may find the slot free when they arrive)
    const waiting = jobs.filter((j) => j.waitingForSlot);
    expect(waiting.length).toBeGreaterThan(100);
    expect(waiting.every((j) => (j.position ?? 0) >= 1)).toBe(true);

    const finished = await waitFinished(env, flowId, jobs.length, 120_000);
    expect(
      finished.filter((j) => j.status !== 'completed').map((j) => ({ status: j.status, error: j.error })),
    ).toEqual([]);

    const runs = await table.runs('one-by-one');
    expect(runs).toHaveLength(200);
    // no two runs overlap: each starts after the previous one finished
    expect(overlapping(runs)).toEqual([]);
    // the order they ran in is the order the API accepted them (committed them: jobs.seq; the
    // requests of one moment are inserted together, so createdAt alone can tie)
    const accepted = await env.api.query<{ id: string }>(
      `SELECT id FROM jobs WHERE flow_id = $1 ORDER BY seq`,
      [flowId],
    );
    expect(runs.map((r) => r.job_id)).toEqual(accepted.map((j) => j.id));
  }, 180_000);

  it('never runs more than 3 at once with max 3, and does run 3 at once', async () => {
    const flowId = await env.createFlow(timedFlow(table, 'three-wide', 3));
    const jobs = await fire(flowId, 60);
    const finished = await waitFinished(env, flowId, jobs.length, 120_000);
    expect(
      finished.filter((j) => j.status !== 'completed').map((j) => ({ status: j.status, error: j.error })),
    ).toEqual([]);
    const runs = await table.runs('three-wide');
    expect(runs).toHaveLength(60);
    expect(peakOverlap(runs)).toBe(3);
  }, 180_000);
});
