import { z } from 'zod';
import { defineOperation } from '@junction/flow';
import type { DatabaseConnection } from './connection.schema.ts';
import { driverFor } from './driver-pool.ts';
import { bindValues, compileSql } from './sql-statement.ts';
import { sqlTemplateParts } from './sql-template.ts';

export const QueryInput = z.strictObject({
  sql: z.string().min(1).meta({
    description: 'A SELECT; {name} binds params.name and {{ expr }} binds its value (never spliced)',
  }),
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .meta({ description: 'Values for {name} placeholders' }),
  pageSize: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .meta({ description: "Rows per page (default: the run's page size)" }),
});
export type QueryInput = z.output<typeof QueryInput>;

export const query = defineOperation<QueryInput, DatabaseConnection>({
  name: 'query',
  title: 'Query',
  description: 'Runs a query and streams its rows in pages through a server-side cursor.',
  kind: 'source',
  input: QueryInput,
  // The SQL's templates become bind parameters, so the engine must not splice them into it.
  rawFields: ['sql'],
  // `'{{1,2},{3,4}}'` in SQL is an array literal, not a template: validation asks the SQL parser
  templatesIn: { sql: sqlTemplateParts },
  async *execute(ctx, input) {
    const driver = await driverFor(ctx);
    const sql = compileSql(ctx.compile, input.sql, driver.dialect);
    const values = await bindValues(sql, input.params);
    yield* driver.stream(sql.text, values, input.pageSize ?? ctx.pageSize, ctx.signal);
  },
});
