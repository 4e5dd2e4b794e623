import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyGate, FlowVersionStore, RunDispatcher, publishCancel } from '@junction/jobs';
import {
  EVENT_BATCH_FIELD,
  SEQ_PER_RUN,
  decodeEventBatch,
  encryptSecret,
  redisNames,
  type JobEventEnvelope,
  type JobPayload,
  type RedisNames,
} from '@junction/protocol';
import { startWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const key = randomBytes(32);

let redis: Redis;
let names: RedisNames;
let prefix: string;
let dispatcher: RunDispatcher;
let gate: ConcurrencyGate;
const workers: WorkerProcess[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  await dispatcher.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
});

function setup(): void {
  prefix = `test:worker:${randomUUID().slice(0, 8)}`;
  names = redisNames(prefix);
  gate = new ConcurrencyGate(redis, { prefix: names.gatePrefix });
  dispatcher = new RunDispatcher(redis, names, gate);
}

async function worker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = await startWorker({
    REDIS_URL,
    JUNCTION_REDIS_PREFIX: prefix,
    JUNCTION_SECRET_KEY: key.toString('hex'),
    WORKER_CONCURRENCY: '2',
    ...env,
  });
  workers.push(w);
  return w;
}

function payload(flow: Record<string, unknown>, extra: Partial<JobPayload> = {}): JobPayload {
  return {
    schemaVersion: 2,
    jobId: randomUUID(),
    flowId: `flow-${randomUUID().slice(0, 8)}`,
    flowVersionId: 'v1',
    flow,
    params: {},
    trigger: { type: 'manual' },
    connections: { pg: encryptSecret(JSON.stringify({ type: 'postgres', url: PG_URL }), key) },
    attempt: 1,
    ...extra,
  };
}

const mapFlow = {
  name: 'map',
  params: { who: { type: 'string', required: true } },
  steps: [{ id: 'greet', use: 'transform.map', with: { fields: { hello: '{{ params.who }}' } } }],
};
const sleepFlow = (seconds: number) => ({
  name: 'sleepy',
  steps: [
    { id: 'nap', use: 'database.execute', connection: 'pg', with: { sql: `SELECT pg_sleep(${seconds})` } },
  ],
});

async function events(jobId: string): Promise<JobEventEnvelope[]> {
  const entries = (await redis.xrange(names.eventStream, '-', '+')) as Array<[string, string[]]>;
  return entries
    .flatMap(([, fields]) => decodeEventBatch(fields[fields.indexOf(EVENT_BATCH_FIELD) + 1]))
    .filter((e) => e.jobId === jobId);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const finished = (jobId: string) =>
  until(`job.finished of ${jobId}`, async () =>
    (await events(jobId)).find((e) => e.event.type === 'job.finished'),
  );

describe('worker process', () => {
  it('runs a job, streams its numbered events and frees the flow slot', async () => {
    setup();
    await worker();
    const p = payload(mapFlow, { params: { who: 'world' } });
    expect(await dispatcher.admit(p, { max: 1, onBusy: 'queue' })).toEqual({ status: 'admitted' });
    const end = await finished(p.jobId);
    expect(end.event).toMatchObject({
      type: 'job.finished',
      status: 'completed',
      output: { hello: 'world' },
    });
    const all = await events(p.jobId);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all[0]).toMatchObject({ event: { type: 'job.started' }, workerId: expect.any(String) });
    expect(all.map((e) => e.event.type)).toContain('step.finished');
    await until('slot freed', async () => ((await gate.flows()).includes(p.flowId) ? undefined : true));
    expect((await gate.inspect(p.flowId, [p.jobId])).get(p.jobId)).toMatchObject({ state: 'done' });
  });

  it('reads the flow of a payload that refers to its version, waiting while the store lacks it', async () => {
    setup();
    await worker();
    const { flow: _inline, ...byReference } = payload(mapFlow, {
      params: { who: 'store' },
      flowVersionId: randomUUID(),
    });
    expect(await dispatcher.admit(byReference, { max: 'unlimited', onBusy: 'queue' })).toEqual({
      status: 'admitted',
    });
    // the version is not in Redis (lost with its data, say): the job waits, it does not fail
    await sleep(1_200);
    expect(await events(byReference.jobId)).toEqual([]);
    const store = new FlowVersionStore(redis, { prefix: names.flowVersionPrefix });
    await store.put(byReference.flowVersionId, mapFlow);
    const end = await finished(byReference.jobId);
    expect(end.event).toMatchObject({ status: 'completed', output: { hello: 'store' } });
  });

  it('reports bad params as a failed job naming the parameter', async () => {
    setup();
    await worker();
    const p = payload(mapFlow, { params: {} });
    await dispatcher.admit(p, { max: 1, onBusy: 'queue' });
    const end = await finished(p.jobId);
    expect(end.event).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('params.who') },
    });
  });

  it('starts the next waiting job when a job ends', async () => {
    setup();
    await worker();
    const flowId = `flow-${randomUUID().slice(0, 8)}`;
    const first = payload(mapFlow, { flowId, params: { who: 'a' } });
    const second = payload(mapFlow, { flowId, params: { who: 'b' } });
    await dispatcher.admit(first, { max: 1, onBusy: 'queue' });
    expect(await dispatcher.admit(second, { max: 1, onBusy: 'queue' })).toMatchObject({ status: 'waiting' });
    expect((await finished(second.jobId)).event).toMatchObject({
      status: 'completed',
      output: { hello: 'b' },
    });
  });

  it('cancels a running 30-second job within 2 seconds', async () => {
    setup();
    await worker();
    const p = payload(sleepFlow(30));
    await dispatcher.admit(p, { max: 1, onBusy: 'queue' });
    await until('step started', async () =>
      (await events(p.jobId)).find((e) => e.event.type === 'step.started'),
    );
    const asked = Date.now();
    expect(await dispatcher.cancel(p.flowId, p.jobId)).toBe('running');
    await publishCancel(redis, names.cancelChannel, p.jobId);
    const end = await finished(p.jobId);
    expect(end.event).toMatchObject({ status: 'cancelled' });
    expect(Date.now() - asked).toBeLessThan(2_000);
  });

  it('skips a job that the gate did not admit', async () => {
    setup();
    const w = await worker();
    const p = payload(mapFlow, { params: { who: 'x' } });
    await dispatcher.enqueue(p);
    await until('job skipped', async () => (w.output().includes('skipped') ? true : undefined));
    expect(await events(p.jobId)).toEqual([]);
  });

  it('hands a running job back on SIGTERM after the grace period, and another worker runs it', async () => {
    setup();
    const first = await worker({ WORKER_SHUTDOWN_GRACE_MS: '300' });
    const p = payload(sleepFlow(30));
    await dispatcher.admit(p, { max: 1, onBusy: 'queue' });
    await until('step started', async () =>
      (await events(p.jobId)).find((e) => e.event.type === 'step.started'),
    );
    expect(await first.stop('SIGTERM')).toBe(0);
    const handedBack = await events(p.jobId);
    expect(handedBack.some((e) => e.event.type === 'job.finished')).toBe(false);
    expect(handedBack.at(-1)?.event).toMatchObject({ type: 'step.log', level: 'warn' });
    expect(await dispatcher.state(p.jobId)).toBe('waiting');
    expect((await gate.inspect(p.flowId, [p.jobId])).get(p.jobId)).toMatchObject({ state: 'admitted' });

    await worker();
    await until('second run', async () =>
      (await events(p.jobId)).find((e) => e.seq > SEQ_PER_RUN && e.event.type === 'step.started'),
    );
    await publishCancel(redis, names.cancelChannel, p.jobId);
    const end = await finished(p.jobId);
    expect(end.seq).toBeGreaterThan(SEQ_PER_RUN);
  });

  it('turns unready when Redis stops answering without closing (a silent link), and ready again after', async () => {
    setup();
    const proxy = await silentableProxy(new URL(REDIS_URL));
    try {
      // an idle worker completes a blocking read every 5 s (drainDelay): 8 s without one is stale
      const w = await worker({ REDIS_URL: proxy.url, WORKER_READY_STALE_MS: '8000' });
      const status = async () => (await fetch(`http://127.0.0.1:${w.port}/health`)).status;
      await until('ready', async () => ((await status()) === 200 ? true : undefined));
      proxy.silence();
      const silencedAt = Date.now();
      await until('unready', async () => ((await status()) === 503 ? true : undefined), 20_000);
      expect(Date.now() - silencedAt).toBeGreaterThan(2_000);
      // the process itself is alive: a restart is not what it needs
      expect((await fetch(`http://127.0.0.1:${w.port}/health/live`)).status).toBe(200);
      proxy.resume();
      await until('ready again', async () => ((await status()) === 200 ? true : undefined), 20_000);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('answers /health when consuming and serves /metrics', async () => {
    setup();
    const w = await worker();
    await until('ready', async () => {
      const res = await fetch(`http://127.0.0.1:${w.port}/health`);
      return res.status === 200 ? true : undefined;
    });
    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    expect(metrics).toContain('junction_worker_jobs_running');
    expect((await fetch(`http://127.0.0.1:${w.port}/nope`)).status).toBe(404);
  });
});

/**
 * A TCP proxy to Redis that can go silent: it stops passing bytes both ways but keeps every
 * connection open, as a half-open link or a hung peer does (TCP keep-alive sees nothing wrong).
 */
async function silentableProxy(target: URL): Promise<{
  url: string;
  silence(): void;
  resume(): void;
  close(): Promise<void>;
}> {
  const pairs = new Set<[Socket, Socket]>();
  let silent = false;
  const link = ([a, b]: [Socket, Socket]) => {
    a.pipe(b);
    b.pipe(a);
  };
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 6379), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (!silent) link(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    silence() {
      silent = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    resume() {
      silent = false;
      for (const pair of pairs) link(pair);
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
