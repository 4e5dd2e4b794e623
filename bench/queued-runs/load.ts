/**
 * The queued-runs benchmarks' load generator: run requests over node:http with keep-alive (a
 * lighter client than fetch, so it takes less of the CPU the API and the worker share with it).
 */
import { Agent, request } from 'node:http';

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
  const agent = new Agent({ keepAlive: true, maxSockets: inflight });
  const { port } = new URL(api.baseUrl);
  const run = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ params: { n } });
      const req = request(
        {
          host: '127.0.0.1',
          port,
          agent,
          method: 'POST',
          path: `/api/v1/flows/${flowId}/run`,
          headers: {
            authorization: `Bearer ${api.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () =>
            res.statusCode === 201 ? resolve() : reject(new Error(`run ${n}: ${res.statusCode} ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { run, close: () => agent.destroy() };
}
