/**
 * A running Junction for job tests: the API (built, with a fresh database) and worker processes
 * on the same Redis prefix and secret key, plus helpers to create flows, run them and watch jobs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, type ApiProcess } from '../../apps/api/test/support/api-process.ts';
import { startWorker, type WorkerProcess } from './worker-process.ts';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface JobView {
  id: string;
  flowId: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  stats: Record<string, { in: number; out: number; errors: number; ignored: number; durationMs: number }>;
  errorCount: number;
  error: { message: string; stepId?: string; type?: string } | null;
  waitingForSlot: boolean;
  position: number | null;
  parentJobId: string | null;
  output: unknown;
  attempt: number;
}

export interface JobsEnv {
  api: ApiProcess;
  workers: WorkerProcess[];
  /** Starts one more worker on the same prefix and key. */
  addWorker(env?: Record<string, string>): Promise<WorkerProcess>;
  createFlow(definition: Record<string, unknown>): Promise<string>;
  createConnection(name: string, type: string, config: Record<string, unknown>): Promise<void>;
  run(flowId: string, params?: Record<string, unknown>): Promise<JobView>;
  job(id: string): Promise<JobView>;
  /** Polls until the job is in one of the statuses (default: any final one). */
  waitFor(id: string, statuses?: readonly string[], timeoutMs?: number): Promise<JobView>;
  stop(): Promise<void>;
}

export const FINAL = ['completed', 'failed', 'cancelled'] as const;

export async function startJobsEnv(
  options: { workers?: number; apiEnv?: Record<string, string>; workerEnv?: Record<string, string> } = {},
): Promise<JobsEnv> {
  const api = await startApi({
    env: { JOBS_RECONCILE_INTERVAL_MS: '500', LOG_LEVEL: 'warn', ...options.apiEnv },
    timeoutMs: 120_000,
  });
  const workers: WorkerProcess[] = [];
  const addWorker = async (env: Record<string, string> = {}) => {
    const w = await startWorker({
      REDIS_URL: api.env.REDIS_URL,
      JUNCTION_REDIS_PREFIX: api.env.JUNCTION_REDIS_PREFIX,
      JUNCTION_SECRET_KEY: api.secretKey,
      // info: a failed wait shows what the worker did (cancels received, jobs finished)
      LOG_LEVEL: 'info',
      ...options.workerEnv,
      ...env,
    });
    workers.push(w);
    return w;
  };
  try {
    await Promise.all(Array.from({ length: options.workers ?? 2 }, () => addWorker()));
  } catch (error) {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await api.stop();
    throw error;
  }

  const expectStatus = <T>(
    res: { status: number; text: string; body: T },
    status: number,
    what: string,
  ): T => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text}`);
    return res.body;
  };

  const env: JobsEnv = {
    api,
    workers,
    addWorker,
    async createFlow(definition) {
      const res = await api.request<{ id: string }>('POST', '/api/v1/flows', { body: definition });
      return expectStatus(res, 201, 'create flow').id;
    },
    async createConnection(name, type, config) {
      const res = await api.request('POST', '/api/v1/connections', { body: { name, type, config } });
      expectStatus(res, 201, 'create connection');
    },
    async run(flowId, params = {}) {
      const res = await api.request<JobView>('POST', `/api/v1/flows/${flowId}/run`, { body: { params } });
      return expectStatus(res, 201, 'run flow');
    },
    async job(id) {
      return expectStatus(await api.request<JobView>('GET', `/api/v1/jobs/${id}`), 200, 'get job');
    },
    async waitFor(id, statuses = FINAL, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const job = await env.job(id);
        if (statuses.includes(job.status)) return job;
        if (Date.now() > end)
          throw new Error(
            `job ${id} is ${job.status} after ${timeoutMs} ms, not ${statuses.join('/')}: ${JSON.stringify(job)}\n` +
              // what the processes said last, to tell a lost cancel from a slow worker afterwards
              workers.map((w) => `worker ${w.workerId}:\n${w.output().slice(-1500)}`).join('\n') +
              `\napi:\n${api.output().slice(-1500)}`,
          );
        await sleep(100);
      }
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await api.stop();
    },
  };
  return env;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * Reads a job's SSE stream until it ends (or `until` says stop, or the time is up), with the
 * admin's token; returns the status and the events.
 */
export async function readSse(
  api: ApiProcess,
  jobId: string,
  options: { lastEventId?: string; until?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<{ status: number; events: SseEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
  const headers: Record<string, string> = {
    authorization: `Bearer ${api.token}`,
    accept: 'text/event-stream',
  };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const events: SseEvent[] = [];
  try {
    const res = await fetch(`${api.baseUrl}/api/v1/jobs/${jobId}/events`, {
      headers,
      signal: controller.signal,
    });
    if (res.status !== 200 || !res.body) return { status: res.status, events };
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || !line.includes(':')) continue;
          const i = line.indexOf(':');
          fields.set(line.slice(0, i), line.slice(i + 1).trimStart());
        }
        if (!fields.has('data')) continue;
        events.push({
          id: fields.get('id'),
          event: fields.get('event') ?? 'message',
          data: JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>,
        });
        if (options.until?.(events)) {
          controller.abort();
          return { status: 200, events };
        }
      }
    }
    return { status: 200, events };
  } catch (error) {
    if (controller.signal.aborted) return { status: 200, events };
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
