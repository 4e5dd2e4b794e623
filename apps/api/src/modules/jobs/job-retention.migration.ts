import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What the retention purge looks old jobs up by. */
export class JobRetentionIndex1764300000000 implements MigrationInterface {
  name = 'JobRetentionIndex1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX jobs_finished_idx`);
  }
}
