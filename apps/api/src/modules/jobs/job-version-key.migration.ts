import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job's flow is its version's flow: one foreign key on (flow_version_id, flow_id) instead of
 * one on each column. Nothing checked that the two agreed; the pair does, with one lookup per
 * inserted job instead of two. Deleting a flow still removes its jobs (flows cascade to their
 * versions, versions to their jobs).
 */
export class JobVersionKey1764500000000 implements MigrationInterface {
  name = 'JobVersionKey1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE flow_versions ADD CONSTRAINT flow_versions_id_flow_key UNIQUE (id, flow_id)`);
    // checks every existing job: one whose flow is not its version's flow stops the migration
    await db.query(
      `ALTER TABLE jobs ADD CONSTRAINT jobs_flow_version_fkey FOREIGN KEY (flow_version_id, flow_id)
         REFERENCES flow_versions (id, flow_id) ON DELETE CASCADE`,
    );
    await db.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_flow_version_id_fkey`);
    await db.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_flow_id_fkey`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE jobs ADD CONSTRAINT jobs_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES flows (id) ON DELETE CASCADE`,
    );
    await db.query(
      `ALTER TABLE jobs ADD CONSTRAINT jobs_flow_version_id_fkey FOREIGN KEY (flow_version_id)
         REFERENCES flow_versions (id) ON DELETE CASCADE`,
    );
    await db.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_flow_version_fkey`);
    await db.query(`ALTER TABLE flow_versions DROP CONSTRAINT flow_versions_id_flow_key`);
  }
}
