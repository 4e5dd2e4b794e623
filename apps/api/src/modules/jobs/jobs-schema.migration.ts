import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs and what they leave behind: logs, stored events (for SSE replay) and failed records.
 * Event rows are keyed by (job_id, seq) so the event consumer can write a batch twice harmlessly.
 */
export class JobsSchema1764100000000 implements MigrationInterface {
  name = 'JobsSchema1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL,
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        flow_version_id uuid NOT NULL REFERENCES flow_versions (id) ON DELETE CASCADE,
        status text NOT NULL
          CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelling', 'cancelled')),
        params jsonb NOT NULL DEFAULT '{}',
        trigger jsonb NOT NULL,
        parent_job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        resume jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at timestamptz,
        finished_at timestamptz,
        stats jsonb NOT NULL DEFAULT '{}',
        error_count integer NOT NULL DEFAULT 0,
        error jsonb,
        output jsonb,
        waiting_for_slot boolean NOT NULL DEFAULT false,
        attempt integer NOT NULL DEFAULT 1,
        worker_id text,
        lease_until timestamptz,
        CONSTRAINT jobs_seq_key UNIQUE (seq)
      )`);
    await db.query(`CREATE INDEX jobs_flow_seq_idx ON jobs (flow_id, seq DESC)`);
    await db.query(`CREATE INDEX jobs_status_seq_idx ON jobs (status, seq DESC)`);
    await db.query(`CREATE INDEX jobs_created_idx ON jobs (created_at)`);
    await db.query(`CREATE INDEX jobs_parent_idx ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL`);
    await db.query(`
      CREATE TABLE job_logs (
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        at timestamptz NOT NULL,
        level text NOT NULL,
        step_id text,
        message text NOT NULL,
        fields jsonb,
        PRIMARY KEY (job_id, seq)
      )`);
    await db.query(`
      CREATE TABLE job_events (
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        type text NOT NULL,
        at timestamptz NOT NULL,
        data jsonb NOT NULL,
        PRIMARY KEY (job_id, seq)
      )`);
    await db.query(`
      CREATE TABLE job_errors (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        step_id text NOT NULL,
        message text NOT NULL,
        record jsonb NOT NULL,
        attempt integer NOT NULL DEFAULT 1,
        retryable boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'ignored')),
        retried_by_job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT job_errors_job_seq_key UNIQUE (job_id, seq)
      )`);
    await db.query(
      `CREATE INDEX job_errors_retried_by_idx ON job_errors (retried_by_job_id) WHERE retried_by_job_id IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE job_errors`);
    await db.query(`DROP TABLE job_events`);
    await db.query(`DROP TABLE job_logs`);
    await db.query(`DROP TABLE jobs`);
  }
}
