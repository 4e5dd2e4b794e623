import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job's stored events (for SSE replay) as one row per job and ingested batch, holding the
 * events as a JSON array, instead of one row per event: a short job wrote eight rows, eight
 * index entries and eight foreign-key checks; now one. Rows are keyed by the chunk's first seq,
 * so a batch stored twice is one row; chunks that overlap (a batch read again with other
 * boundaries) are deduplicated by seq on replay.
 */
export class JobEventChunks1764200000000 implements MigrationInterface {
  name = 'JobEventChunks1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE job_event_chunks (
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        events jsonb NOT NULL,
        PRIMARY KEY (job_id, first_seq)
      )`);
    await db.query(`
      INSERT INTO job_event_chunks (job_id, first_seq, last_seq, events)
      SELECT job_id, min(seq), max(seq),
             jsonb_agg(data || jsonb_build_object('seq', seq, 'type', type,
                                                  'at', (extract(epoch FROM at) * 1000)::bigint) ORDER BY seq)
        FROM job_events GROUP BY job_id`);
    await db.query(`DROP TABLE job_events`);
  }

  async down(db: QueryRunner): Promise<void> {
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
      INSERT INTO job_events (job_id, seq, type, at, data)
      SELECT c.job_id, (e->>'seq')::bigint, e->>'type', to_timestamp((e->>'at')::double precision / 1000),
             e - 'seq' - 'type' - 'at'
        FROM job_event_chunks c, jsonb_array_elements(c.events) e
      ON CONFLICT DO NOTHING`);
    await db.query(`DROP TABLE job_event_chunks`);
  }
}
