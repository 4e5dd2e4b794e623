import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventPublisher } from '@junction/jobs';
import { EVENT_BATCH_FIELD, decodeEventBatch } from '@junction/protocol';
import { JobEventSink } from '../src/job-event-sink.ts';

// A job's events as the worker writes them to the event stream (a real Redis), bounded in size.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let redis: Redis;
const stream = `test:event-sink:${randomUUID().slice(0, 8)}`;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.del(stream);
  await redis.quit();
});

describe('job event sink', () => {
  it('cuts a long log line without splitting a character in two', async () => {
    const publisher = new EventPublisher(redis, stream);
    const sink = new JobEventSink(publisher, { jobId: 'j1', workerId: 'w1', seqBase: 0, maxLogEvents: 10 });
    // 3,999 units, then an emoji (two units) across the 4,000-unit limit
    const long = `${'a'.repeat(3_999)}😀${'b'.repeat(100)}`;
    sink.emit({ type: 'step.log', at: Date.now(), level: 'info', message: long });
    sink.emit({ type: 'step.log', at: Date.now(), level: 'info', message: 'short 😀' });
    await publisher.flush();
    const entries = await redis.xrange(stream, '-', '+');
    const events = entries.flatMap(([, fields]) =>
      decodeEventBatch(fields[fields.indexOf(EVENT_BATCH_FIELD) + 1] ?? ''),
    );
    const messages = events.map((e) => (e.event.type === 'step.log' ? e.event.message : ''));
    expect(messages).toEqual([`${'a'.repeat(3_999)}… (cut)`, 'short 😀']);
    expect(messages.every((m) => m.isWellFormed())).toBe(true);
  });
});
