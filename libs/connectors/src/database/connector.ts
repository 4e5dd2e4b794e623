import { defineConnector } from '@junction/flow';
import { DatabaseConnectionSchema, dialectOf, type DatabaseConnection } from './connection.schema.ts';
import { execute } from './execute.operation.ts';
import { testMysql } from './mysql.driver.ts';
import { testPostgres } from './postgres.driver.ts';
import { query } from './query.operation.ts';
import { write } from './write.operation.ts';

export const connector = defineConnector<DatabaseConnection>({
  id: 'database',
  title: 'Database',
  version: '1.0.0',
  description: 'PostgreSQL and MySQL/MariaDB: stream queries in pages, write in batches, run statements.',
  connection: DatabaseConnectionSchema,
  connectionTypes: ['postgres', 'mysql', 'mariadb'],
  operations: { query, write, execute },
  test: (connection, signal) =>
    dialectOf(connection) === 'postgres' ? testPostgres(connection, signal) : testMysql(connection, signal),
});
