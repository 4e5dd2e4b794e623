import pg from 'pg';
import type { QueryRunner } from 'typeorm';
import { InitialSchema1764000000000 } from '../../src/database/migrations/1764000000000-initial-schema.ts';
import { JobsSchema1764100000000 } from '../../src/modules/jobs/jobs-schema.migration.ts';
import { dropDatabase, PG_SERVER, uniqueDatabaseName } from './api-process.ts';

/** A fresh database with the base and jobs schemas, for testing one migration's up and down. */
export interface MigrationDb {
  client: pg.Client;
  /** What a migration gets: it only calls query() on its runner. */
  runner: QueryRunner;
  drop(): Promise<void>;
}

export async function migrationDb(prefix: string): Promise<MigrationDb> {
  const name = uniqueDatabaseName(prefix);
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const client = new pg.Client({ connectionString: `${PG_SERVER}/${name}` });
  await client.connect();
  const runner = {
    query: (sql: string, params?: unknown[]) => client.query(sql, params),
  } as unknown as QueryRunner;
  await new InitialSchema1764000000000().up(runner);
  await new JobsSchema1764100000000().up(runner);
  return {
    client,
    runner,
    drop: async () => {
      await client.end();
      await dropDatabase(name);
    },
  };
}
