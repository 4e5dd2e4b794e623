import type pg from 'pg';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobVersionKey1764500000000 } from '../src/modules/jobs/job-version-key.migration.ts';
import { migrationDb, type MigrationDb } from './support/migration-db.ts';

// A job's flow must be its version's flow: one foreign key on the pair replaces one per column.

let db: MigrationDb;
let client: pg.Client;
let runner: QueryRunner;

const FLOW_A = '00000000-0000-4000-8000-00000000f00a';
const FLOW_B = '00000000-0000-4000-8000-00000000f00b';
const VERSION_A = '00000000-0000-4000-8000-00000000e00a';
const VERSION_B = '00000000-0000-4000-8000-00000000e00b';

beforeAll(async () => {
  db = await migrationDb('junction_version_key');
  ({ client, runner } = db);
  for (const [flow, version, flowName] of [
    [FLOW_A, VERSION_A, 'a'],
    [FLOW_B, VERSION_B, 'b'],
  ]) {
    await client.query(
      `INSERT INTO flows (id, integration_id, name, current_version) SELECT $1, id, $2, 1 FROM integrations LIMIT 1`,
      [flow, flowName],
    );
    await client.query(
      `INSERT INTO flow_versions (id, flow_id, version, definition, source, source_format)
       VALUES ($1, $2, 1, '{}', '{}', 'json')`,
      [version, flow],
    );
  }
});

afterAll(async () => {
  await db?.drop();
});

const insertJob = (flowId: string, versionId: string) =>
  client.query(
    `INSERT INTO jobs (id, flow_id, flow_version_id, status, trigger) VALUES (gen_random_uuid(), $1, $2, 'queued', '{}')`,
    [flowId, versionId],
  );
const jobsOf = async (flowId: string) =>
  (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE flow_id = $1`, [flowId]))
    .rows[0].n;

describe('job version key migration', () => {
  it("refuses a job whose flow is not its version's flow, and still deletes a flow's jobs with it", async () => {
    // before: each column is checked alone, so the mismatch goes in
    await insertJob(FLOW_A, VERSION_B);
    await client.query(`DELETE FROM jobs`);

    await new JobVersionKey1764500000000().up(runner);
    await insertJob(FLOW_A, VERSION_A);
    await expect(insertJob(FLOW_A, VERSION_B)).rejects.toThrow(/jobs_flow_version_fkey/);
    await expect(insertJob('00000000-0000-4000-8000-0000000000ff', VERSION_A)).rejects.toThrow(
      /jobs_flow_version_fkey/,
    );
    expect(await jobsOf(FLOW_A)).toBe(1);
    await client.query(`DELETE FROM flows WHERE id = $1`, [FLOW_A]);
    expect(await jobsOf(FLOW_A)).toBe(0);

    await new JobVersionKey1764500000000().down(runner);
    await insertJob(FLOW_B, VERSION_B);
    const keys = await client.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'jobs'::regclass AND contype = 'f' ORDER BY conname`,
    );
    expect(keys.rows.map((r) => r.conname)).toEqual([
      'jobs_flow_id_fkey',
      'jobs_flow_version_id_fkey',
      'jobs_parent_job_id_fkey',
    ]);
  });

  it('stops on existing jobs whose flow is not their version’s flow', async () => {
    await insertJob(FLOW_B, VERSION_B);
    await client.query(
      `INSERT INTO flows (id, integration_id, name, current_version) SELECT $1, id, 'c', 1 FROM integrations LIMIT 1`,
      [FLOW_A],
    );
    await insertJob(FLOW_A, VERSION_B);
    await expect(new JobVersionKey1764500000000().up(runner)).rejects.toThrow(/jobs_flow_version_fkey/);
  });
});
