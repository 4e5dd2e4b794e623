import { z } from 'zod';
import { defineOperation } from '@junction/flow';
import type { DatabaseConnection } from './connection.schema.ts';
import { driverFor } from './driver-pool.ts';
import { bindValues, compileSql } from './sql-statement.ts';
import { sqlTemplateParts } from './sql-template.ts';

export const ExecuteInput = z.strictObject({
  sql: z.string().min(1).meta({
    description:
      'A statement or procedure call, run once per record; {name} binds params.name, {{ expr }} binds its value',
  }),
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .meta({ description: 'Values for {name} placeholders' }),
  maxRows: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(100)
    .meta({ description: 'Rows kept in the output when the statement returns rows (default 100)' }),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: 'Records run at once (default 1)' }),
});
export type ExecuteInput = z.output<typeof ExecuteInput>;

export const execute = defineOperation<ExecuteInput, DatabaseConnection>({
  name: 'execute',
  title: 'Execute statement',
  description: 'Runs a statement or stored procedure once per record; outputs {rowCount, rows}.',
  kind: 'action',
  input: ExecuteInput,
  rawFields: ['sql'],
  // `'{{1,2},{3,4}}'` in SQL is an array literal, not a template: validation asks the SQL parser
  templatesIn: { sql: sqlTemplateParts },
  async execute(ctx, input, record) {
    const driver = await driverFor(ctx);
    const sql = compileSql(ctx.compile, input.sql, driver.dialect);
    const values = await bindValues(sql, input.params, record);
    const result = await driver.run(sql.text, values, ctx.signal, input.maxRows);
    return { rowCount: result.rowCount, rows: result.rows };
  },
});
