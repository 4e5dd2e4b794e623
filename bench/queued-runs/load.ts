/**
 * The queued-runs benchmarks' load generator: run requests over a few keep-alive sockets with a
 * minimal HTTP client (bench/shared/keep-alive-client.ts), so it takes as little as it can of the
 * CPU the API and the worker share with it.
 */
import { encodeRequest, KeepAliveClient } from '../shared/keep-alive-client.ts';

/** Runs `count` tasks with at most `inflight` at once. */
export async function pool(
  count: number,
  inflight: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inflight, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export interface RunRequester {
  /** POST /api/v1/flows/{id}/run with `{"params": {"n": n}}`; rejects unless it answers 201. */
  run: (n: number) => Promise<void>;
  close: () => void;
}

export function runRequester(
  api: { baseUrl: string; token: string },
  flowId: string,
  inflight: number,
): RunRequester {
  const { port } = new URL(api.baseUrl);
  const client = new KeepAliveClient('127.0.0.1', Number(port), inflight);
  const headers = { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' };
  const path = `/api/v1/flows/${flowId}/run`;
  const run = async (n: number) => {
    const res = await client.request(encodeRequest('POST', path, headers, JSON.stringify({ params: { n } })));
    if (res.status !== 201) throw new Error(`run ${n}: ${res.status} ${res.body}`);
  };
  return { run, close: () => client.close() };
}
