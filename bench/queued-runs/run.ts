/**
 * Queued runs: N runs of a three-step flow (transform.map, script.run, a no-op map) with
 * concurrency unlimited, enqueued through the API (POST /api/v1/flows/{id}/run, `inflight`
 * requests at a time) and run by one worker process; measured from the first request to the last
 * job stored as completed. Next to it, in the same run, raw BullMQ: N no-op jobs added one by one
 * with the same number in flight and consumed by a plain BullMQ worker process. Both are measured
 * after `warmup` runs (or jobs) that are not counted, so the JIT has compiled the hot paths.
 *
 * The same is then measured with the script.run step replaced by a map, to show what the queue
 * path itself costs next to the script sandbox.
 *
 *   node bench/queued-runs/run.ts [--runs 10000] [--inflight 64] [--concurrency 32] [--warmup 5000] [--no-docs]
 *
 * Writes bench/results/queued-runs.json and the "Queued runs" section of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startApi } from '../../apps/api/test/support/api-process.ts';
import { startWorker } from '../../test/support/worker-process.ts';
import { commandCpuSeconds, cpuSeconds, watchPeakRss } from '../shared/process-stats.ts';
import { benchFlows, type BenchFlow } from './flows.ts';
import { pool, runRequester, type RunRequester } from './load.ts';
import { updateDocs, type JunctionRun, type QueuedRunsResult } from './report.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    inflight: { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '32' },
    // runs (and raw jobs) before the measured ones: the JIT, pools and caches reach their steady state
    warmup: { type: 'string', default: '5000' },
    'no-docs': { type: 'boolean', default: false },
    // only the variant with the script step replaced by a map
    'no-script': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const INFLIGHT = Number(values.inflight);
const CONCURRENCY = Number(values.concurrency);
const WARM = Number(values.warmup);

const { script: scriptFlow, map: mapFlow } = benchFlows;

async function rawBullmq(): Promise<{ ms: number; rate: number }> {
  const prefix = `bench:raw:${randomUUID().slice(0, 8)}`;
  const child = spawn(
    process.execPath,
    ['bench/queued-runs/raw-worker.ts', REDIS_URL, prefix, String(RUNS), String(CONCURRENCY), String(WARM)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Array<Record<string, number | boolean>> = [];
  let waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, number>);
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (key: string) => {
    while (!lines.some((l) => key in l)) await new Promise<void>((r) => waiters.push(r));
    return lines.find((l) => key in l) as Record<string, number>;
  };
  await waitFor('ready');
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-noop', { connection, prefix });
  const add = async (i: number) => {
    await queue.add('noop', { n: i }, { removeOnComplete: { count: 1000 } });
  };
  if (WARM > 0) {
    await pool(WARM, INFLIGHT, add);
    await waitFor('warmedAt');
  }
  const started = Date.now();
  await pool(RUNS, INFLIGHT, (i) => add(WARM + i));
  const { doneAt } = await waitFor('doneAt');
  waiters = [];
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  const ms = doneAt - started;
  return { ms, rate: (RUNS * 1000) / ms };
}

async function queuedRuns(flow: BenchFlow): Promise<JunctionRun> {
  // BENCH_PROFILE_DIR: CPU profiles of the API and the worker, written when they exit
  const profile: Record<string, string> = process.env.BENCH_PROFILE_DIR
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` }
    : {};
  const api = await startApi({ env: { LOG_LEVEL: 'warn', ...profile }, timeoutMs: 120_000 });
  const worker = await startWorker({
    REDIS_URL,
    JUNCTION_REDIS_PREFIX: api.env.JUNCTION_REDIS_PREFIX,
    JUNCTION_SECRET_KEY: api.secretKey,
    WORKER_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
    ...profile,
  });
  let requester: RunRequester | undefined;
  try {
    const created = await api.request<{ id: string }>('POST', '/api/v1/flows', { body: flow });
    if (created.status !== 201) throw new Error(`cannot create the flow: ${created.text}`);
    requester = runRequester(api, created.body.id, INFLIGHT);
    const { run } = requester;
    // counts only the unfinished and the failed jobs, through the status index: a count over
    // every job, ten times a second, would take PostgreSQL CPU from the runs it measures
    const unfinished = async () =>
      (
        await api.query<{ open: number; bad: number }>(
          `SELECT count(*) FILTER (WHERE status IN ('queued', 'running', 'cancelling'))::int AS open,
                  count(*) FILTER (WHERE status IN ('failed', 'cancelled'))::int AS bad
             FROM jobs WHERE status IN ('queued', 'running', 'cancelling', 'failed', 'cancelled')`,
        )
      )[0];
    let requested = 0;
    const waitUntil = async (n: number) => {
      for (;;) {
        const c = await unfinished();
        if (c.bad > 0) throw new Error(`${c.bad} runs did not complete`);
        if (requested >= n && c.open === 0) return Date.now();
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    // warm-up: JIT, connection pools, the script isolate
    await pool(WARM, INFLIGHT, run);
    requested = WARM;
    await waitUntil(WARM);

    const apiRss = watchPeakRss(api.process.pid ?? 0);
    const workerRss = watchPeakRss(worker.child.pid ?? 0);
    const cpuNow = () => [
      cpuSeconds(api.process.pid ?? 0),
      cpuSeconds(worker.child.pid ?? 0),
      commandCpuSeconds('postgres'),
      commandCpuSeconds('redis-server'),
      cpuSeconds(process.pid),
    ];
    const cpuBefore = cpuNow();
    const started = Date.now();
    await pool(RUNS, INFLIGHT, (i) => run(WARM + i));
    requested = WARM + RUNS;
    const acceptedAt = Date.now();
    const finishedAt = await waitUntil(WARM + RUNS);
    const ms = finishedAt - started;
    const perRun = cpuNow().map((s, i) => ((s - cpuBefore[i]) * 1000) / RUNS);
    return {
      flow: flow.name,
      apiCpuMsPerRun: perRun[0],
      workerCpuMsPerRun: perRun[1],
      postgresCpuMsPerRun: perRun[2],
      redisCpuMsPerRun: perRun[3],
      loadCpuMsPerRun: perRun[4],
      ms,
      rate: (RUNS * 1000) / ms,
      acceptRate: (RUNS * 1000) / (acceptedAt - started),
      apiPeakRssMb: apiRss.stop() / 1024,
      workerPeakRssMb: workerRss.stop() / 1024,
    };
  } finally {
    requester?.close();
    await worker.stop();
    await api.stop();
  }
}

const rawRuns: Array<{ ms: number; rate: number }> = [];
const measureRaw = async () => {
  const r = await rawBullmq();
  rawRuns.push(r);
  process.stdout.write(`raw BullMQ: ${RUNS} no-op jobs in ${r.ms} ms = ${Math.round(r.rate)} jobs/s\n`);
};
const flows = values['no-script'] ? [mapFlow] : [scriptFlow, mapFlow];
const measured: JunctionRun[] = [];
for (const flow of flows) {
  await measureRaw();
  measured.push(await queuedRuns(flow));
}
await measureRaw();
// a raw run lasts only a second or two: its median over the session is the fairer baseline
const raw = [...rawRuns].sort((a, b) => a.rate - b.rate)[Math.floor(rawRuns.length / 2)];
process.stdout.write(`raw BullMQ median: ${Math.round(raw.rate)} jobs/s\n`);
const variants: JunctionRun[] = [];
for (const r of measured) {
  variants.push(r);
  process.stdout.write(
    `${r.flow}: ${RUNS} runs in ${r.ms} ms = ${Math.round(r.rate)} runs/s ` +
      `(${Math.round((r.rate / raw.rate) * 100)} % of raw BullMQ; requests accepted at ${Math.round(r.acceptRate)}/s); ` +
      `CPU per run: api ${r.apiCpuMsPerRun.toFixed(2)} ms, worker ${r.workerCpuMsPerRun.toFixed(2)} ms, ` +
      `postgres ${r.postgresCpuMsPerRun.toFixed(2)} ms, redis ${r.redisCpuMsPerRun.toFixed(2)} ms, ` +
      `load generator ${r.loadCpuMsPerRun.toFixed(2)} ms; ` +
      `peak RSS api ${r.apiPeakRssMb.toFixed(0)} MB, worker ${r.workerPeakRssMb.toFixed(0)} MB\n`,
  );
}
const result: QueuedRunsResult = {
  runs: RUNS,
  inflight: INFLIGHT,
  concurrency: CONCURRENCY,
  raw,
  rawRates: rawRuns.map((r) => r.rate),
  variants,
};
if (!values['no-docs']) {
  updateDocs(`${ROOT}docs/benchmarks.md`, `${ROOT}bench/results/queued-runs.json`, {
    result,
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.versions.node}`,
  });
}
