import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface CopyResult {
  name: string;
  rows: number;
  wallMs: number;
  /** Rows per second from spawn to exit, start-up included. */
  wallRate: number;
  /** The copy alone, as the program itself measured it. */
  runMs?: number;
  peakRssMb: number;
}

interface StoredRun {
  rows: number;
  measuredAt: string;
  machine: string;
  results: CopyResult[];
}

const SECTION = '## Table copy';
const START = '<!-- table-copy:results:start -->';
const END = '<!-- table-copy:results:end -->';

const INTRO = `${SECTION}

\`node bench/table-copy/run.ts --rows N [--repeat K]\` copies an N-row PostgreSQL table (id, name,
email, amount numeric(12,2), created_at timestamptz, made with generate_series) into another
table, mapping each row (\`$uppercase(name)\`, amount × 100 as integer cents), through the CLI
run exactly as \`pnpm junction\` runs it (the node flags of the root package.json's \`junction\`
script, read from it; \`run bench/table-copy/copy.flow.yaml\`: database.query → transform.map →
database.write) and with a hand-written streaming copy in plain Node
(\`bench/table-copy/hand-copy.ts\`: pg-cursor pages of 1,000, the same mapping, one multi-row
INSERT with bound parameters per page, the next page read while the last is written). Each runs
as a child process and its result is checked in the database. The CLI keeps compiled modules in
Node's compile cache, so the benchmark warms it first and also runs the CLI with the cache off,
as a first run after an install or a change is. "wall" is spawn to exit, start-up included;
"copy only" is the time the program measured for the copy itself; peak RSS is the child's VmHWM.
Targets: the CLI at ≥ 50 % of the hand-written rate, < 200 MB peak RSS at 1,000,000 rows, and
the team goal of ≥ 50,000 rows/s. Each run rewrites the rows of its size between the markers;
text outside them is kept.

${START}
${END}
`;

/** Stores this run's results (one entry per row count) and rewrites the results block of the section. */
export function updateDocs(
  docPath: string,
  storePath: string,
  run: { rows: number; results: CopyResult[]; machine: string },
): void {
  const store: StoredRun[] = existsSync(storePath)
    ? (JSON.parse(readFileSync(storePath, 'utf8')) as StoredRun[])
    : [];
  const others = store.filter((s) => s.rows !== run.rows);
  const updated = [...others, { ...run, measuredAt: new Date().toISOString().slice(0, 10) }].sort(
    (a, b) => a.rows - b.rows,
  );
  writeFileSync(storePath, `${JSON.stringify(updated, null, 2)}\n`);

  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
  if (!doc.includes(START) || !doc.includes(END)) {
    doc = doc.includes(SECTION)
      ? doc.replace(SECTION, `${INTRO.trimEnd()}\n`)
      : `${doc.trimEnd()}\n\n${INTRO}`;
  }
  const before = doc.slice(0, doc.indexOf(START) + START.length);
  const after = doc.slice(doc.indexOf(END));
  writeFileSync(docPath, `${before}\n${resultsBlock(updated)}\n${after}`);
}

function resultsBlock(runs: readonly StoredRun[]): string {
  const lines = [
    '| rows | copy | wall time | rows/s (wall) | rows/s (copy only) | peak RSS | CLI / hand (wall) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const run of runs) {
    const hand = run.results.find((r) => r.name.startsWith('hand'));
    for (const r of run.results) {
      const inner = r.runMs === undefined ? '—' : fmt((r.rows * 1000) / r.runMs);
      const ratio =
        r.name.startsWith('junction') && hand ? `${Math.round((r.wallRate / hand.wallRate) * 100)} %` : '';
      lines.push(
        `| ${fmt(r.rows)} | ${r.name} | ${(r.wallMs / 1000).toFixed(1)} s | ${fmt(r.wallRate)} | ${inner} | ${r.peakRssMb.toFixed(0)} MB | ${ratio} |`,
      );
    }
  }
  lines.push('', 'Measured on:');
  for (const run of runs) lines.push(`- ${fmt(run.rows)} rows: ${run.machine} (${run.measuredAt})`);
  return lines.join('\n');
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
