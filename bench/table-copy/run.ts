/**
 * Table-copy benchmark: copies an N-row PostgreSQL table into another through the Junction CLI
 * (read → map → write), run exactly as `pnpm junction` runs it (the node flags of the root
 * package.json's `junction` script), and, in the same run, with a hand-written streaming copy in
 * plain Node; reports rows/s and peak RSS of each and records them in docs/benchmarks.md
 * ("Table copy").
 *   node bench/table-copy/run.ts [--rows 100000] [--repeat 1] [--no-docs]
 * With --repeat N the copies run in N rounds and each one's fastest run counts (other processes
 * on the machine only ever slow a run down); peak RSS is the highest of the N.
 * PGURL selects the server (default postgres://postgres@127.0.0.1:5432/test).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { updateDocs, type CopyResult } from './report.ts';
import { watchPeakRss } from '../shared/process-stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PGURL = process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432/test';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '1' },
    'no-docs': { type: 'boolean', default: false },
  },
});
const rows = positive('--rows', values.rows);
const repeat = positive('--repeat', values.repeat);
const loadAtStart = loadavg()[0];

const db = new pg.Client({ connectionString: PGURL });
await db.connect();
await prepareSource(rows);
const expected = await db.query<{ cents: string }>(
  'SELECT sum(round(amount * 100))::text AS cents FROM bench_copy_source',
);

const junction = junctionCommand();
const cliArgs = [...junction.flags, join(ROOT, junction.main), 'run', join(HERE, 'copy.flow.yaml'), '--json'];
const variants: Variant[] = [
  {
    name: 'hand-written (pg-cursor + multi-row INSERT)',
    table: 'bench_copy_target_hand',
    args: [join(HERE, 'hand-copy.ts'), PGURL],
  },
  {
    name: `junction run (CLI as \`pnpm junction\`: node ${junction.flags.join(' ')})`,
    table: 'bench_copy_target_cli',
    args: cliArgs,
  },
  // The CLI keeps compiled modules in Node's compile cache, so only the first run after an
  // install or a change pays for type stripping and compiling: this row is that first run.
  {
    name: 'junction run, first run (compile cache off)',
    table: 'bench_copy_target_cli',
    args: cliArgs,
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
];
await warmCompileCache(cliArgs);
// Rounds of every variant in turn, so a burst of load elsewhere slows them all alike.
const runs = new Map<Variant, CopyResult[]>(variants.map((v) => [v, []]));
for (let round = 0; round < repeat; round++) {
  for (const v of variants) runs.get(v)!.push(await measureOnce(v));
}
await db.end();

const results = variants.map((v) => bestOf(runs.get(v)!));
const [hand, cli, cold] = results;

printTable(results);
const ratio = cli.wallRate / hand.wallRate;
console.log(
  `\nCLI / hand-written: ${(ratio * 100).toFixed(0)} % (target ≥ 50 %); CLI ${Math.round(cli.wallRate).toLocaleString('en-US')} rows/s (team goal ≥ 50,000); CLI peak RSS ${cli.peakRssMb.toFixed(0)} MB, first run ${cold.peakRssMb.toFixed(0)} MB (target < 200 MB at 1,000,000 rows)`,
);
if (!values['no-docs']) {
  const pgVersion = readServerVersion();
  updateDocs(join(ROOT, 'docs/benchmarks.md'), join(HERE, 'results.json'), {
    rows,
    results,
    machine:
      `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${await pgVersion}` +
      ` on the same machine, load average ${loadAtStart.toFixed(1)} at start, best of ${repeat}`,
  });
  console.log('recorded in docs/benchmarks.md');
}

async function prepareSource(n: number): Promise<void> {
  const existing = await db
    .query<{ n: string }>('SELECT count(*)::text AS n FROM bench_copy_source')
    .catch(() => undefined);
  if (existing?.rows[0]?.n !== String(n)) {
    console.log(`creating bench_copy_source with ${n.toLocaleString('en-US')} rows…`);
    await db.query('DROP TABLE IF EXISTS bench_copy_source');
    await db.query(`CREATE TABLE bench_copy_source (
      id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL,
      amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)`);
    await db.query(
      `INSERT INTO bench_copy_source
       SELECT g, 'customer ' || g, 'customer' || g || '@example.com',
              round((random() * 10000)::numeric, 2), now() - g * interval '1 minute'
       FROM generate_series(1, $1::int) AS g`,
      [n],
    );
    await db.query('ANALYZE bench_copy_source');
  }
  for (const table of ['bench_copy_target_hand', 'bench_copy_target_cli']) {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.query(`CREATE TABLE ${table} (
      id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL,
      amount_cents bigint NOT NULL, created_at timestamptz NOT NULL)`);
  }
}

/**
 * The node flags and entry point of the root package.json's `junction` script, so the benchmark
 * runs the CLI exactly as users do and cannot drift from it.
 */
function junctionCommand(): { flags: string[]; main: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = pkg.scripts?.junction ?? '';
  const [node, ...rest] = script.trim().split(/\s+/);
  const main = rest.findIndex((word) => !word.startsWith('-'));
  if (node !== 'node' || main < 0 || rest.length !== main + 1 || !rest[main].endsWith('.ts')) {
    console.error(
      `package.json scripts.junction: expected "node [flags] path/to/main.ts", got ${JSON.stringify(script)}`,
    );
    process.exit(2);
  }
  return { flags: rest.slice(0, main), main: rest[main] };
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (Number.isSafeInteger(n) && n >= 1) return n;
  console.error(`${flag}: expected a positive whole number, got ${JSON.stringify(text)}`);
  process.exit(2);
}

interface Variant {
  name: string;
  table: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * Starts the CLI copy and stops it (Ctrl-C) once pages flow, by when every module it uses has
 * been loaded: Node writes them to its compile cache at exit, as after any user's first run.
 */
async function warmCompileCache(args: string[]): Promise<void> {
  console.log('warming the compile cache…');
  await db.query('TRUNCATE bench_copy_target_cli');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PGURL },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let seen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (seen === 'stopped') return;
    seen = (seen + chunk).slice(-4096);
    if (!seen.includes('"type":"step.stats"')) return;
    seen = 'stopped';
    child.kill('SIGINT'); // once: a second one exits at once
  });
  await new Promise((resolve) => child.on('close', resolve));
}

/** The fastest run (others on the machine only ever slow one down), with the highest peak RSS of all. */
function bestOf(results: readonly CopyResult[]): CopyResult {
  const best = results.reduce((a, b) => (b.wallRate > a.wallRate ? b : a));
  return { ...best, peakRssMb: Math.max(...results.map((r) => r.peakRssMb)) };
}

async function measureOnce({ name, table, args, env }: Variant): Promise<CopyResult> {
  console.log(`running ${name}…`);
  await db.query(`TRUNCATE ${table}`);
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PGURL, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const peak = watchPeakRss(child.pid!, 20);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallMs = performance.now() - started;
  const peakRssMb = peak.stop() / 1024;
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${stdout.slice(-2000)}`);

  const check = await db.query<{ n: string; cents: string; upper: boolean }>(
    `SELECT count(*)::text AS n, sum(amount_cents)::text AS cents, bool_and(name = upper(name)) AS upper FROM ${table}`,
  );
  const got = check.rows[0];
  if (got.n !== String(rows) || got.cents !== expected.rows[0].cents || !got.upper) {
    throw new Error(
      `${name} copied wrongly: ${JSON.stringify(got)}, expected ${rows} rows and ${expected.rows[0].cents} cents`,
    );
  }
  return { name, rows, wallMs, wallRate: (rows * 1000) / wallMs, runMs: innerMs(stdout), peakRssMb };
}

/** Time of the copy itself, without process start-up: the CLI's job.finished or hand-copy's output. */
function innerMs(stdout: string): number | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as { type?: string; durationMs?: number; ms?: number };
      if (parsed.type === 'job.finished') return parsed.durationMs;
      if (typeof parsed.ms === 'number') return parsed.ms;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

function printTable(results: readonly CopyResult[]): void {
  console.log('\n| copy | rows | wall time | rows/s (wall) | rows/s (copy only) | peak RSS |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const inner = r.runMs === undefined ? '—' : Math.round((r.rows * 1000) / r.runMs).toLocaleString('en-US');
    console.log(
      `| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${(r.wallMs / 1000).toFixed(1)} s | ${Math.round(r.wallRate).toLocaleString('en-US')} | ${inner} | ${r.peakRssMb.toFixed(0)} MB |`,
    );
  }
}

async function readServerVersion(): Promise<string> {
  const c = new pg.Client({ connectionString: PGURL });
  await c.connect();
  const v = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  await c.end();
  return `PostgreSQL ${v.rows[0].v.split(' ')[0]}`;
}
