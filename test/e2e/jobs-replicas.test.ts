import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApi, type ApiProcess } from '../../apps/api/test/support/api-process.ts';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';
import {
  createRunsTable,
  overlapping,
  timedFlow,
  waitFinished,
  type RunsTable,
} from '../support/timed-runs.ts';

let env: JobsEnv;
let replica: ApiProcess;
let table: RunsTable;

beforeAll(async () => {
  table = await createRunsTable();
  // short leases, so a killed worker's job is declared lost within seconds
  env = await startJobsEnv({ workers: 2, workerEnv: { JUNCTION_LEASE_MS: '2000' } });
  // a second API process on the same database, Redis prefix and key, with a token of its own
  replica = await startApi({ replicaOf: env.api, timeoutMs: 120_000 });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await replica?.stop();
  await env?.stop();
  await table?.drop();
});

async function runOn(api: ApiProcess, flowId: string, params: Record<string, unknown>): Promise<JobView> {
  const res = await api.request<JobView>('POST', `/api/v1/flows/${flowId}/run`, { body: { params } });
  if (res.status !== 201) throw new Error(`run on ${api.baseUrl}: ${res.status} ${res.text}`);
  return res.body;
}

async function active(flowId: string): Promise<JobView[]> {
  const res = await env.api.request<{ items: JobView[] }>(
    'GET',
    `/api/v1/jobs?flowId=${flowId}&status=queued,running,cancelling`,
  );
  return res.body.items;
}

function eventsIngested(metrics: string): number {
  const found = /^junction_job_events_ingested_total(?:\{[^}]*\})? (\d+)/m.exec(metrics);
  if (!found) throw new Error(`no junction_job_events_ingested_total in /metrics:\n${metrics}`);
  return Number(found[1]);
}

describe('per-flow concurrency across two API replicas', () => {
  it('runs 100 requests sent to both replicas one at a time, each exactly once', async () => {
    const flowId = await env.createFlow(timedFlow(table, 'two-replicas', 1, 20));
    const ingestedBefore = await Promise.all(
      [env.api, replica].map(async (api) =>
        eventsIngested((await api.request<string>('GET', '/metrics')).text),
      ),
    );

    // all at once, every other request to the other replica
    const apis = [env.api, replica];
    const jobs = await Promise.all(Array.from({ length: 100 }, (_, n) => runOn(apis[n % 2], flowId, { n })));
    const finished = await waitFinished(env, flowId, jobs.length, 120_000);
    expect(
      finished.filter((j) => j.status !== 'completed').map((j) => ({ status: j.status, error: j.error })),
    ).toEqual([]);

    const runs = await table.runs('two-replicas');
    // every job ran exactly once: one row each, and no row of a job nobody asked for
    const perJob = new Map<string, number>();
    for (const r of runs) perJob.set(r.job_id, (perJob.get(r.job_id) ?? 0) + 1);
    expect([...perJob.values()].filter((c) => c !== 1)).toEqual([]);
    expect([...perJob.keys()].sort()).toEqual(jobs.map((j) => j.id).sort());
    // no two runs overlap: each starts after the previous one finished
    expect(overlapping(runs)).toEqual([]);

    // the two replicas' jobs interleave, but each replica's jobs run in the order it committed them
    const seq = new Map(
      (
        await env.api.query<{ id: string; seq: string }>(`SELECT id, seq FROM jobs WHERE flow_id = $1`, [
          flowId,
        ])
      ).map((j) => [j.id, Number(j.seq)]),
    );
    for (const side of [0, 1]) {
      const mine = new Set(jobs.filter((_, n) => n % 2 === side).map((j) => j.id));
      const ran = runs.filter((r) => mine.has(r.job_id)).map((r) => r.job_id);
      expect(ran).toEqual([...ran].sort((a, b) => (seq.get(a) ?? 0) - (seq.get(b) ?? 0)));
    }

    // the replicas' event consumers share the stream: both stored some of these runs' events
    const ingestedAfter = await Promise.all(
      [env.api, replica].map(async (api) =>
        eventsIngested((await api.request<string>('GET', '/metrics')).text),
      ),
    );
    expect(ingestedAfter[0]).toBeGreaterThan(ingestedBefore[0]);
    expect(ingestedAfter[1]).toBeGreaterThan(ingestedBefore[1]);
    expect(await active(flowId)).toEqual([]);
  }, 180_000);
});

describe('a worker killed while its job waits to retry a step', () => {
  let server: Server;
  let served = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterAll(async () => {
    server?.close();
    if (server) await once(server, 'close');
  });

  it('fails the job as worker lost, frees its slot, and the jobs waiting behind it run one by one', async () => {
    const address = server.address();
    const okUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
    // nothing listens there: connection refused, a retryable error
    const deadUrl = `http://127.0.0.1:${await freePort()}/`;
    const flowId = await env.createFlow({
      name: 'retry-wait',
      concurrency: { max: 1 },
      params: { url: { type: 'string', required: true } },
      steps: [
        {
          id: 'call',
          use: 'http.request',
          // the request's own retries off, so the wait is the step's retry policy: 20 s after attempt 1
          with: { url: '{{ params.url }}', retries: 0, timeoutMs: 2_000 },
          retry: { attempts: 5, backoff: 'fixed', delayMs: 20_000, jitter: false },
        },
      ],
    });

    const victim = await runOn(env.api, flowId, { url: deadUrl });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const logs = await env.api.request<{ items: { message: string }[] }>(
        'GET',
        `/api/v1/jobs/${victim.id}/logs`,
      );
      if (
        logs.body.items.some((l) =>
          /attempt 1 failed: .*connection refused; retrying in 20000 ms/.test(l.message),
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`no retry wait logged: ${logs.text}`);
      await sleep(100);
    }
    const waiting = (await env.job(victim.id)) as JobView & { workerId: string };
    expect(waiting.status).toBe('running');

    // the slot stays taken during the retry wait: the next job (through the other replica) waits
    const second = await runOn(replica, flowId, { url: okUrl });
    expect(second).toMatchObject({ waitingForSlot: true, position: 1 });
    await sleep(1_000);
    expect((await env.job(second.id)).status).toBe('queued');

    const worker = env.workers.find((w) => w.workerId === waiting.workerId);
    expect(worker).toBeDefined();
    const killedAt = Date.now();
    await worker?.stop('SIGKILL');
    const third = await runOn(env.api, flowId, { url: okUrl });

    const lost = await env.waitFor(victim.id, ['failed', 'completed', 'cancelled'], 20_000);
    expect(lost).toMatchObject({
      status: 'failed',
      error: { type: 'WorkerLost', message: expect.stringContaining('worker lost') },
    });
    const b = await env.waitFor(second.id, undefined, 20_000);
    const c = await env.waitFor(third.id, undefined, 20_000);
    expect([b.status, c.status]).toEqual(['completed', 'completed']);
    expect(Date.parse(b.startedAt ?? '')).toBeGreaterThanOrEqual(killedAt);
    // still one at a time, in the order they were accepted
    expect(Date.parse(c.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(b.finishedAt ?? ''));
    expect(served).toBe(2);
    expect(await active(flowId)).toEqual([]);
  }, 60_000);
});
