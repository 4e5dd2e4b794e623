/**
 * What one request costs the API alone: no worker runs, so nothing is ingested and the run
 * requests' jobs stay on the queue. Splits the queued-runs benchmark's API, PostgreSQL and Redis
 * CPU per run between accepting the run and storing its outcome, and shows the framework's
 * floor next to it (GET /health: routing, the request log line, the response).
 *
 *   node bench/queued-runs/request-cost.ts [--requests 10000] [--path /health]
 *
 * Without --path: POST /api/v1/flows/{id}/run of a one-step flow with concurrency unlimited.
 */
import { parseArgs } from 'node:util';
import { startApi } from '../../apps/api/test/support/api-process.ts';
import { encodeRequest, KeepAliveClient } from '../shared/keep-alive-client.ts';
import { commandCpuSeconds, cpuSeconds } from '../shared/process-stats.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    inflight: { type: 'string', default: '64' },
    path: { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const INFLIGHT = Number(values.inflight);

// BENCH_PROFILE_DIR: the API's CPU profile, written when it exits
const profile: Record<string, string> = process.env.BENCH_PROFILE_DIR
  ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` }
  : {};
const api = await startApi({ env: { LOG_LEVEL: 'warn', ...profile }, timeoutMs: 120_000 });
let client: KeepAliveClient | undefined;
try {
  const flow = {
    name: 'request-cost',
    concurrency: { max: 'unlimited' },
    params: { n: { type: 'integer', default: 0 } },
    steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }],
  };
  const created = await api.request<{ id: string }>('POST', '/api/v1/flows', { body: flow });
  if (created.status !== 201) throw new Error(`cannot create the flow: ${created.text}`);
  const path = values.path ?? `/api/v1/flows/${created.body.id}/run`;
  const post = values.path === undefined;
  const { port } = new URL(api.baseUrl);
  const http = new KeepAliveClient('127.0.0.1', Number(port), INFLIGHT);
  client = http;
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}` };
  if (post) headers['content-type'] = 'application/json';
  const send = async (n: number) => {
    const body = post ? JSON.stringify({ params: { n } }) : '';
    const res = await http.request(encodeRequest(post ? 'POST' : 'GET', path, headers, body));
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.body}`);
  };
  const pool = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (next < count) await send(next++);
      }),
    );
  };
  await pool(2_000); // warm-up
  const pid = api.process.pid ?? 0;
  const cpu = () => [cpuSeconds(pid), commandCpuSeconds('postgres'), commandCpuSeconds('redis-server')];
  const before = cpu();
  const started = Date.now();
  await pool(REQUESTS);
  const ms = Date.now() - started;
  const [apiCpu, pgCpu, redisCpu] = cpu().map((c, i) => ((c - before[i]) * 1000) / REQUESTS);
  process.stdout.write(
    `${post ? 'POST /api/v1/flows/{id}/run' : `GET ${path}`}: ${Math.round((REQUESTS * 1000) / ms)} requests/s; ` +
      `CPU per request: api ${apiCpu.toFixed(3)} ms, postgres ${pgCpu.toFixed(3)} ms, redis ${redisCpu.toFixed(3)} ms\n`,
  );
} finally {
  client?.close();
  await api.stop();
}
