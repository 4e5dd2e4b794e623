import type pg from 'pg';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEventChunksJson1764400000000 } from '../src/modules/jobs/event-chunks-json.migration.ts';
import { JobEventChunks1764200000000 } from '../src/modules/jobs/event-chunks.migration.ts';
import { migrationDb, type MigrationDb } from './support/migration-db.ts';

// The migration that turned one row per stored event into one row per job and batch: existing
// events must survive it (and its down migration) unchanged.

let db: MigrationDb;
let client: pg.Client;
let runner: QueryRunner;

const FLOW = '00000000-0000-4000-8000-00000000f001';
const VERSION = '00000000-0000-4000-8000-00000000f002';
const JOB = '00000000-0000-4000-8000-00000000a001';

beforeAll(async () => {
  db = await migrationDb('junction_chunks');
  ({ client, runner } = db);
  await client.query(
    `INSERT INTO flows (id, integration_id, name, current_version)
     SELECT $1, id, 'f', 1 FROM integrations LIMIT 1`,
    [FLOW],
  );
  await client.query(
    `INSERT INTO flow_versions (id, flow_id, version, definition, source, source_format)
     VALUES ($1, $2, 1, '{}', '{}', 'json')`,
    [VERSION, FLOW],
  );
  await client.query(
    `INSERT INTO jobs (id, flow_id, flow_version_id, status, trigger) VALUES ($1, $2, $3, 'completed', '{}')`,
    [JOB, FLOW, VERSION],
  );
});

afterAll(async () => {
  await db?.drop();
});

const events = () =>
  client.query<{ seq: string; type: string; at: Date; data: Record<string, unknown> }>(
    `SELECT seq, type, at, data FROM job_events ORDER BY seq`,
  );

describe('event chunks migration', () => {
  it('moves stored events into one chunk per job and back, unchanged', async () => {
    await client.query(
      `INSERT INTO job_events (job_id, seq, type, at, data) VALUES
         ($1, 1, 'job.started', '2026-11-25T10:00:00.001Z', '{}'),
         ($1, 2, 'step.started', '2026-11-25T10:00:00.002Z', '{"stepId": "a"}'),
         ($1, 9, 'job.finished', '2026-11-25T10:00:00.009Z', '{"status": "completed", "stats": {}}')`,
      [JOB],
    );
    const before = (await events()).rows;

    await new JobEventChunks1764200000000().up(runner);
    const chunks = await client.query(`SELECT job_id, first_seq, last_seq, events FROM job_event_chunks`);
    expect(chunks.rows).toEqual([
      {
        job_id: JOB,
        first_seq: '1',
        last_seq: '9',
        events: [
          { seq: 1, type: 'job.started', at: Date.parse('2026-11-25T10:00:00.001Z') },
          { seq: 2, type: 'step.started', at: Date.parse('2026-11-25T10:00:00.002Z'), stepId: 'a' },
          {
            seq: 9,
            type: 'job.finished',
            at: Date.parse('2026-11-25T10:00:00.009Z'),
            status: 'completed',
            stats: {},
          },
        ],
      },
    ]);

    await new JobEventChunks1764200000000().down(runner);
    expect((await events()).rows).toEqual(before);
  });

  it('stores chunks as json and back as jsonb, with the same events', async () => {
    await new JobEventChunks1764200000000().up(runner);
    const chunk = async () =>
      (
        await client.query<{ type: string; events: unknown }>(
          `SELECT pg_typeof(events)::text AS type, events FROM job_event_chunks`,
        )
      ).rows;
    const before = await chunk();
    expect(before).toMatchObject([{ type: 'jsonb' }]);

    await new JobEventChunksJson1764400000000().up(runner);
    const asJson = await chunk();
    expect(asJson).toEqual([{ type: 'json', events: before[0].events }]);

    await new JobEventChunksJson1764400000000().down(runner);
    expect(await chunk()).toEqual(before);
    await new JobEventChunks1764200000000().down(runner);
  });
});
