import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JunctionRun {
  flow: string;
  ms: number;
  rate: number;
  acceptRate: number;
  apiCpuMsPerRun: number;
  workerCpuMsPerRun: number;
  postgresCpuMsPerRun: number;
  redisCpuMsPerRun: number;
  /** The bench process itself: the HTTP client sending the run requests. */
  loadCpuMsPerRun: number;
  apiPeakRssMb: number;
  workerPeakRssMb: number;
}

export interface QueuedRunsResult {
  runs: number;
  inflight: number;
  concurrency: number;
  /** The median of the raw BullMQ runs (one before each Junction variant and one after). */
  raw: { ms: number; rate: number };
  /** jobs/s of every raw BullMQ run, in order */
  rawRates: number[];
  variants: JunctionRun[];
}

const SECTION = '## Queued runs';
const START = '<!-- queued-runs:results:start -->';
const END = '<!-- queued-runs:results:end -->';

const INTRO = `${SECTION}

\`node bench/queued-runs/run.ts --runs N\` creates a three-step flow (transform.map,
script.run, a no-op transform.map) with \`concurrency.max: unlimited\` over the API, runs 200
warm-up jobs, then sends N \`POST /api/v1/flows/{id}/run\` requests (64 in flight, node:http
keep-alive) to one API process, run by one worker process (\`WORKER_CONCURRENCY\` 32), and
measures from the first request to the moment PostgreSQL holds all N jobs as \`completed\`
(their events stored by the API's consumer). The same is repeated with the script.run step
replaced by a map, to separate the cost of the queue path from the script sandbox. In the same
run, raw BullMQ: N no-op jobs added one by one (64 in flight) and consumed by a plain BullMQ
worker process with the same concurrency, measured before each Junction variant and after the
last; the ratio is taken against the median (a raw run lasts only 1–3 s, and the machine's speed
drifts). CPU per run is the process's user + system time over
the measured part divided by N; peak RSS is each process's VmHWM. Target: ≥ a third of raw
BullMQ. Everything (API, worker, PostgreSQL, Redis, the load generator, and whatever else runs
on the machine) shares its cores. The table is rewritten by each run.

${START}
${END}
`;

export function updateDocs(
  docPath: string,
  storePath: string,
  run: { result: QueuedRunsResult; machine: string },
): void {
  mkdirSync(dirname(storePath), { recursive: true });
  writeFileSync(storePath, `${JSON.stringify({ ...run, measuredAt: new Date().toISOString() }, null, 2)}\n`);
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
  if (!doc.includes(START) || !doc.includes(END)) {
    doc = doc.includes(SECTION)
      ? doc.replace(SECTION, `${INTRO.trimEnd()}\n`)
      : `${doc.trimEnd()}\n\n${INTRO}`;
  }
  const before = doc.slice(0, doc.indexOf(START) + START.length);
  const after = doc.slice(doc.indexOf(END));
  writeFileSync(docPath, `${before}\n${block(run.result, run.machine)}\n${after}`);
}

function block(r: QueuedRunsResult, machine: string): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const label: Record<string, string> = {
    'bench-queued-runs': 'Junction: map → script.run → no-op (the benchmark flow)',
    'bench-queued-runs-map': 'Junction: map → map → no-op (script step replaced, for reference)',
  };
  const lines = [
    '| what | N | time | per second | vs raw BullMQ | CPU per run (API / worker / PostgreSQL / Redis / load generator) | peak RSS (API / worker) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| raw BullMQ, no-op jobs | ${fmt(r.runs)} | ${(r.raw.ms / 1000).toFixed(1)} s | ${fmt(r.raw.rate)} jobs/s | 100 % | | |`,
  ];
  for (const v of r.variants) {
    lines.push(
      `| ${label[v.flow] ?? v.flow} | ${fmt(r.runs)} | ${(v.ms / 1000).toFixed(1)} s | ${fmt(v.rate)} runs/s | ` +
        `${Math.round((v.rate / r.raw.rate) * 100)} % | ` +
        [v.apiCpuMsPerRun, v.workerCpuMsPerRun, v.postgresCpuMsPerRun, v.redisCpuMsPerRun, v.loadCpuMsPerRun]
          .map((ms) => `${ms.toFixed(2)}`)
          .join(' / ') +
        ` ms | ` +
        `${v.apiPeakRssMb.toFixed(0)} MB / ${v.workerPeakRssMb.toFixed(0)} MB |`,
    );
  }
  lines.push(
    '',
    `Raw BullMQ runs: ${r.rawRates.map((rate) => `${fmt(rate)}`).join(', ')} jobs/s (median in the table). ` +
      `Run requests were accepted (201) at ${r.variants.map((v) => `${fmt(v.acceptRate)}/s`).join(' and ')}. ` +
      `Measured on ${machine}, ${new Date().toISOString().slice(0, 10)}.`,
  );
  return lines.join('\n');
}
