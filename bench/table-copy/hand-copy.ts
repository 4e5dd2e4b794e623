/**
 * The baseline: the same copy written by hand in plain Node, as a careful developer would:
 * pg-cursor pages of 1,000 rows, the same transformation in JavaScript, one multi-row INSERT
 * with bound parameters per page, and the next page read while the previous one is written.
 * Prints {"rows": N, "ms": T} on stdout.
 *   node bench/table-copy/hand-copy.ts [PGURL]
 */
import pg from 'pg';
import Cursor from 'pg-cursor';

interface SourceRow {
  id: number;
  name: string;
  email: string;
  amount: string;
  created_at: Date;
}

const PAGE = 1000;
const COLUMNS = ['id', 'name', 'email', 'amount_cents', 'created_at'];
const url = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';

const reader = new pg.Client({ connectionString: url });
const writer = new pg.Client({ connectionString: url });
await Promise.all([reader.connect(), writer.connect()]);

const started = performance.now();
const cursor = reader.query(
  new Cursor<SourceRow>('SELECT id, name, email, amount, created_at FROM bench_copy_source'),
);
let rows = 0;
let next = cursor.read(PAGE);
for (;;) {
  const page = await next;
  if (page.length === 0) break;
  next = cursor.read(PAGE);
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const r of page) {
    const base = values.length;
    values.push(r.id, r.name.toUpperCase(), r.email, Math.round(Number(r.amount) * 100), r.created_at);
    tuples.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5})`);
  }
  await writer.query(
    `INSERT INTO bench_copy_target_hand (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
    values,
  );
  rows += page.length;
}
const ms = performance.now() - started;
await cursor.close();
await Promise.all([reader.end(), writer.end()]);
process.stdout.write(`${JSON.stringify({ rows, ms })}\n`);
