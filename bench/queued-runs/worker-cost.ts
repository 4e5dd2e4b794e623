/**
 * What a run costs the worker alone: the API accepts N runs with no worker running, is paused, and
 * then one worker drains the queue while nothing else runs (its events stay in the stream). Next
 * to it, a plain BullMQ worker draining N no-op jobs the same way: the queue's own floor. Then
 * what storing the outcomes costs: the API is resumed, with no worker, and reads the stream until
 * PostgreSQL holds every job as completed.
 *
 *   node bench/queued-runs/worker-cost.ts [--runs 10000] [--concurrency 32] [--no-script]
 *
 * BENCH_PROFILE_DIR=<dir> writes the worker's CPU profile there.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, redisNames } from '../../libs/protocol/src/index.ts';
import { startApi } from '../../apps/api/test/support/api-process.ts';
import { startWorker } from '../../test/support/worker-process.ts';
import { commandCpuSeconds, cpuSeconds } from '../shared/process-stats.ts';
import { benchFlows } from './flows.ts';
import { pool, runRequester } from './load.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    'no-script': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const CONCURRENCY = String(values.concurrency);
const flow = values['no-script'] ? benchFlows.map : benchFlows.script;

/**
 * Waits until at most `left` jobs are still to run. Not by the completed count: the run queue
 * keeps only the newest 50,000 completed jobs, so that count stops growing there.
 */
const drained = async (queue: Queue, left: number): Promise<void> => {
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed', 'failed');
    if (c.failed > 0) throw new Error(`${c.failed} jobs failed`);
    if (c.waiting + c.active + c.prioritized + c.delayed <= left) return;
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** CPU seconds per thread of a process, by thread name (V8's GC helpers, libuv's pool, ...). */
function threadCpu(pid: number): string {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    byName.set(name, (byName.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
  }
  return `${[...byName].map(([n, s]) => `${n} ${s.toFixed(2)} s`).join(', ')}\n`;
}

async function junctionWorker(): Promise<string> {
  const api = await startApi({ env: { LOG_LEVEL: 'warn' }, timeoutMs: 120_000 });
  const prefix = api.env.JUNCTION_REDIS_PREFIX;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.runs, { connection, prefix: redisNames(prefix).bullPrefix });
  const created = await api.request<{ id: string }>('POST', '/api/v1/flows', { body: flow });
  if (created.status !== 201) throw new Error(`cannot create the flow: ${created.text}`);
  const requester = runRequester(api, created.body.id, 64);
  const WARM = 500;
  await pool(WARM + RUNS, 64, requester.run);
  requester.close();
  // paused, not stopped (stopping deletes its Redis keys): it reads no events and takes no CPU
  api.process.kill('SIGSTOP');

  const profile: Record<string, string> = process.env.BENCH_PROFILE_DIR
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` }
    : {};
  // BENCH_WORKER_NODE_ARGS: V8 flags for the worker (e.g. --trace-gc, shown with its output)
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // the warm-up jobs go first (FIFO); the measure starts once they are done
  const worker = await startWorker(
    {
      REDIS_URL,
      JUNCTION_REDIS_PREFIX: prefix,
      JUNCTION_SECRET_KEY: api.secretKey,
      WORKER_CONCURRENCY: CONCURRENCY,
      LOG_LEVEL: 'warn',
      ...profile,
    },
    30_000,
    nodeArgs,
  );
  try {
    await drained(queue, RUNS);
    const pid = worker.child.pid ?? 0;
    if (process.env.BENCH_THREADS) process.stdout.write(`before: ${threadCpu(pid)}`);
    const before = [cpuSeconds(pid), commandCpuSeconds('redis-server')];
    const started = Date.now();
    await drained(queue, 0);
    const ms = Date.now() - started;
    if (process.env.BENCH_THREADS) process.stdout.write(`after: ${threadCpu(pid)}`);
    const [w, r] = [cpuSeconds(pid), commandCpuSeconds('redis-server')].map(
      (c, i) => ((c - before[i]) * 1000) / RUNS,
    );
    await worker.stop();
    if (nodeArgs.length > 0) process.stdout.write(worker.output());

    const apiPid = api.process.pid ?? 0;
    const ingestBefore = [
      cpuSeconds(apiPid),
      commandCpuSeconds('postgres'),
      commandCpuSeconds('redis-server'),
    ];
    const ingestStarted = Date.now();
    api.process.kill('SIGCONT');
    for (;;) {
      const [{ done }] = await api.query<{ done: number }>(
        `SELECT count(*) FILTER (WHERE status = 'completed')::int AS done FROM jobs`,
      );
      if (done >= WARM + RUNS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ingestMs = Date.now() - ingestStarted;
    const [ia, ip, ir] = [
      cpuSeconds(apiPid),
      commandCpuSeconds('postgres'),
      commandCpuSeconds('redis-server'),
    ].map((c, i) => ((c - ingestBefore[i]) * 1000) / (WARM + RUNS));
    return (
      `${flow.name}: worker alone ${Math.round((RUNS * 1000) / ms)} runs/s; CPU per run: worker ${w.toFixed(3)} ms, redis ${r.toFixed(3)} ms\n` +
      `${flow.name}: outcomes stored ${Math.round(((WARM + RUNS) * 1000) / ingestMs)} runs/s; CPU per run: api ${ia.toFixed(3)} ms, postgres ${ip.toFixed(3)} ms, redis ${ir.toFixed(3)} ms`
    );
  } finally {
    if (worker.child.exitCode === null) await worker.stop();
    api.process.kill('SIGCONT');
    await api.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  }
}

async function rawWorker(): Promise<string> {
  const prefix = `bench:rawcost:${randomUUID().slice(0, 8)}`;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-noop', { connection, prefix });
  for (let i = 0; i < RUNS; i += 1000)
    await queue.addBulk(
      Array.from({ length: Math.min(1000, RUNS - i) }, (_, k) => ({ name: 'noop', data: { n: i + k } })),
    );
  const before = commandCpuSeconds('redis-server');
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['bench/queued-runs/raw-worker.ts', REDIS_URL, prefix, String(RUNS), CONCURRENCY],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const cpuAtExit = await new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      if (out.includes('doneAt')) {
        clearInterval(timer);
        resolve(cpuSeconds(child.pid ?? 0));
      }
    }, 5);
  });
  const ms = Date.now() - started;
  const r = ((commandCpuSeconds('redis-server') - before) * 1000) / RUNS;
  await new Promise((resolve) => child.once('exit', resolve));
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  return `raw BullMQ: worker alone ${Math.round((RUNS * 1000) / ms)} jobs/s; CPU per job: worker ${((cpuAtExit * 1000) / RUNS).toFixed(3)} ms (with its start-up), redis ${r.toFixed(3)} ms`;
}

process.stdout.write(`${await rawWorker()}\n`);
process.stdout.write(`${await junctionWorker()}\n`);
