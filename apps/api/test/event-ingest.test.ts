import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_BATCH_FIELD, encodeEventBatch, redisNames, type JobEventEnvelope } from '@junction/protocol';
import { startApi, type ApiProcess } from './support/api-process.ts';

// The API's consumer stores what workers write on the event stream. No worker runs here: the
// test writes a run's events itself, with text PostgreSQL cannot hold (NUL characters, unpaired
// surrogates).

let api: ApiProcess;
let redis: Redis;

beforeAll(async () => {
  api = await startApi();
  redis = new Redis(api.env.REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await redis?.quit();
  await api?.stop();
});

interface JobBody {
  status: string;
  errorCount: number;
  stats: Record<string, { in: number; out: number }>;
  output: unknown;
  error: unknown;
}

describe('event ingest', () => {
  it('stores a run written on the stream: state, stats, logs, errors, events; NULs dropped and half characters replaced, not fatal', async () => {
    const flow = await api.request<{ id: string }>('POST', '/api/v1/flows', {
      body: { name: 'ingested', steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }] },
    });
    const run = await api.request<{ id: string }>('POST', `/api/v1/flows/${flow.body.id}/run`, {
      body: { params: {} },
    });
    expect(run.status).toBe(201);
    const jobId = run.body.id;
    const at = Date.now();
    const stats = { in: 2, out: 1, errors: 1, ignored: 0, durationMs: 5 };
    const events: JobEventEnvelope[] = [
      { jobId, seq: 1, workerId: 'w-test', event: { type: 'job.started', at, flow: 'ingested' } },
      { jobId, seq: 2, event: { type: 'step.started', at, stepId: 'a', path: 'steps[0]' } },
      {
        jobId,
        seq: 3,
        event: {
          type: 'step.log',
          at,
          level: 'info',
          stepId: 'a',
          // half an emoji: a message cut at its length limit between the two halves of a pair
          message: 'nul\u0000here \ud83d',
          // a NUL in a key and a value; a literal backslash-u0000 text is kept as it is
          fields: { 'k\u0000ey': 'v\u0000', literal: '\\u0000' },
        },
      },
      {
        jobId,
        seq: 4,
        event: {
          type: 'record.error',
          at,
          stepId: 'a',
          message: 'bad\u0000 record',
          record: { n: 2, text: '\u0000x', half: '\udc00y' },
          attempt: 1,
          retryable: false,
        },
      },
      { jobId, seq: 5, event: { type: 'step.finished', at, stepId: 'a', status: 'completed', stats } },
      {
        jobId,
        seq: 6,
        event: {
          type: 'job.finished',
          at: at + 10,
          status: 'completed',
          stats: { a: stats },
          errorCount: 1,
          durationMs: 10,
          output: { total: 1, 'note\u0000': 'ok\u0000' },
        },
      },
    ];
    const names = redisNames(api.env.JUNCTION_REDIS_PREFIX);
    await redis.xadd(names.eventStream, '*', EVENT_BATCH_FIELD, encodeEventBatch(events));

    let job: JobBody | undefined;
    for (let i = 0; i < 100 && job?.status !== 'completed'; i++) {
      await sleep(100);
      job = (await api.request<JobBody>('GET', `/api/v1/jobs/${jobId}`)).body;
    }
    expect(job).toMatchObject({
      status: 'completed',
      errorCount: 1,
      stats: { a: { in: 2, out: 1 } },
      output: { total: 1, note: 'ok' },
      error: null,
    });

    const logs = await api.request<{ items: Array<{ message: string; fields?: unknown }> }>(
      'GET',
      `/api/v1/jobs/${jobId}/logs`,
    );
    expect(logs.body.items).toEqual([
      expect.objectContaining({ message: 'nulhere \ufffd', fields: { key: 'v', literal: '\\u0000' } }),
    ]);
    const errors = await api.request<{ items: Array<{ message: string; record: unknown }> }>(
      'GET',
      `/api/v1/jobs/${jobId}/errors`,
    );
    expect(errors.body.items).toEqual([
      expect.objectContaining({ message: 'bad record', record: { n: 2, text: 'x', half: '\ufffdy' } }),
    ]);
    const [chunk] = await api.query<{ first_seq: string; last_seq: string; events: Array<{ seq: number }> }>(
      `SELECT first_seq, last_seq, events FROM job_event_chunks WHERE job_id = $1`,
      [jobId],
    );
    expect([Number(chunk.first_seq), Number(chunk.last_seq)]).toEqual([1, 6]);
    // progress (step.stats) and logs are not replayed from the chunk; the rest is, in order
    expect(chunk.events.map((e) => e.seq)).toEqual([1, 2, 5, 6]);
    const [row] = await api.query<{ worker_id: string; started_at: Date }>(
      `SELECT worker_id, started_at FROM jobs WHERE id = $1`,
      [jobId],
    );
    expect(row.worker_id).toBe('w-test');
    expect(row.started_at.getTime()).toBe(at);
    expect(api.output()).not.toContain('"level":50');
  });
});
