import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventEnvelope, RunEvent } from '@junction/protocol';
import { EventPublisher, EventStreamConsumer, type StreamEntry, streamBacklog } from '../src/index.ts';
import { connect, deleteKeys, uniquePrefix } from './support/redis.ts';

let redis: Redis;
let prefix: string;
const extra: Redis[] = [];

beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await Promise.all(extra.splice(0).map((r) => r.quit()));
  await deleteKeys(redis, prefix);
});

function log(jobId: string, seq: number): JobEventEnvelope {
  const event: RunEvent = { type: 'step.log', at: Date.now(), level: 'info', message: `line ${seq}` };
  return { jobId, seq, event };
}
function stats(jobId: string, seq: number, stepId: string, n: number): JobEventEnvelope {
  const event: RunEvent = {
    type: 'step.stats',
    at: Date.now(),
    stepId,
    stats: { in: n, out: n, errors: 0, ignored: 0, durationMs: 1 },
  };
  return { jobId, seq, event };
}
function own(): Redis {
  const r = connect();
  extra.push(r);
  return r;
}

describe('event stream', () => {
  it('writes events in batches of at most maxBatch, in order', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream, { maxBatch: 500, flushIntervalMs: 1_000 });
    for (let i = 1; i <= 1200; i++) publisher.publish(log('job', i));
    await publisher.flush();
    const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    const sizes = entries.map(([, fields]) => (JSON.parse(fields[1]) as unknown[]).length);
    expect(sizes).toEqual([500, 500, 200]);
    const seqs = entries.flatMap(([, f]) => (JSON.parse(f[1]) as JobEventEnvelope[]).map((e) => e.seq));
    expect(seqs).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
  });

  it('lets jobs that end together wait for one shared stream entry', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 10_000, groupMs: 5 });
    const waits: Promise<void>[] = [];
    for (let job = 0; job < 10; job++) {
      publisher.publish(log(`job-${job}`, 1));
      waits.push(publisher.written());
    }
    await Promise.all(waits);
    expect(await redis.xlen(stream)).toBe(1);
    // nothing new: resolves with the last write, writes nothing
    await publisher.written();
    expect(await redis.xlen(stream)).toBe(1);
  });

  it('sends what jobs publish while a write is in flight together in the next write', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 10_000 });
    publisher.publish(log('first', 1));
    const first = publisher.written();
    // the first write leaves on the next turn of the event loop; these come while it is in flight
    await new Promise((resolve) => setImmediate(resolve));
    const later: Promise<void>[] = [];
    for (let job = 0; job < 10; job++) {
      publisher.publish(log(`job-${job}`, 1));
      later.push(publisher.written());
    }
    await first;
    await Promise.all(later);
    const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    expect(entries.map(([, f]) => (JSON.parse(f[1]) as unknown[]).length)).toEqual([1, 10]);
  });

  it('flushes by itself after the interval', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 20 });
    publisher.publish(log('job', 1));
    await sleep(100);
    expect(await redis.xlen(stream)).toBe(1);
  });

  it('sends only the newest progress of a step within a flush', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 1_000 });
    publisher.publish(stats('job', 1, 'a', 10));
    publisher.publish(log('job', 2));
    publisher.publish(stats('job', 3, 'a', 20));
    publisher.publish(stats('job', 4, 'b', 5));
    publisher.publish(stats('other', 1, 'a', 7));
    await publisher.flush();
    const [[, fields]] = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    const sent = (JSON.parse(fields[1]) as JobEventEnvelope[]).map((e) => `${e.jobId}#${e.seq}`);
    expect(sent).toEqual(['job#2', 'job#3', 'job#4', 'other#1']);
  });

  it('shares entries between consumers of a group and acknowledges what was handled', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const seen: string[] = [];
    const make = (name: string) =>
      new EventStreamConsumer(own(), {
        stream,
        group: 'api',
        consumer: name,
        count: 1,
        blockMs: 100,
        handle: async (entries) => {
          for (const e of entries) for (const env of e.envelopes) seen.push(`${name}:${env.seq}`);
          await sleep(5);
        },
      });
    const a = make('a');
    const b = make('b');
    await a.start();
    await b.start();
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 1 });
    for (let i = 1; i <= 40; i++) {
      publisher.publish(log('job', i));
      await publisher.flush();
    }
    for (let i = 0; i < 100 && seen.length < 40; i++) await sleep(20);
    await a.stop();
    await b.stop();
    expect(seen.map((s) => Number(s.split(':')[1])).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(new Set(seen.map((s) => s.split(':')[0]))).toEqual(new Set(['a', 'b']));
    expect(await streamBacklog(redis, stream, 'api')).toEqual({ pending: 0, lag: 0 });
  });

  it('makes its group again when Redis lost the stream, and reads what was written since', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const seen: number[] = [];
    const errors: string[] = [];
    const consumer = new EventStreamConsumer(own(), {
      stream,
      group: 'api',
      consumer: 'c',
      blockMs: 100,
      handle: async (entries) => {
        for (const e of entries) for (const env of e.envelopes) seen.push(env.seq);
      },
      onError: (error) => errors.push(String(error)),
    });
    await consumer.start();
    const publisher = new EventPublisher(redis, stream, { flushIntervalMs: 1 });
    publisher.publish(log('job', 1));
    await publisher.flush();
    for (let i = 0; i < 50 && seen.length < 1; i++) await sleep(20);
    // a Redis restart without persistence: the stream and its group are gone
    await redis.del(stream);
    publisher.publish(log('job', 2));
    await publisher.flush();
    for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(20);
    await consumer.stop();
    expect(seen).toEqual([1, 2]);
    expect(errors.some((e) => e.includes('consumer group was gone'))).toBe(true);
  });

  it('takes over the entries of a consumer that died before acknowledging them', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    // a consumer that reads and never acknowledges: a process killed mid-batch
    const dead = own();
    await dead.call('XGROUP', 'CREATE', stream, 'api', '0', 'MKSTREAM');
    const publisher = new EventPublisher(redis, stream);
    publisher.publish(log('job', 1));
    publisher.publish(log('job', 2));
    await publisher.flush();
    await dead.call('XREADGROUP', 'GROUP', 'api', 'dead', 'COUNT', 10, 'STREAMS', stream, '>');
    expect((await streamBacklog(redis, stream, 'api')).pending).toBe(1);

    const handled: StreamEntry[] = [];
    const survivor = new EventStreamConsumer(own(), {
      stream,
      group: 'api',
      consumer: 'survivor',
      blockMs: 50,
      claimIdleMs: 200,
      claimEveryMs: 50,
      handle: async (entries) => {
        handled.push(...entries);
      },
    });
    await survivor.start();
    for (let i = 0; i < 50 && handled.length === 0; i++) await sleep(20);
    await survivor.stop();
    expect(handled.flatMap((e) => e.envelopes.map((x) => x.seq))).toEqual([1, 2]);
    expect(await streamBacklog(redis, stream, 'api')).toEqual({ pending: 0, lag: 0 });
  });

  it('retries a batch the handler failed on, and sets it aside after too many failures', async () => {
    prefix = uniquePrefix('events');
    const stream = `${prefix}:stream`;
    const publisher = new EventPublisher(redis, stream);
    publisher.publish(log('poison', 1));
    await publisher.flush();
    publisher.publish(log('fine', 1));
    await publisher.flush();
    let attempts = 0;
    const fine: string[] = [];
    const consumer = new EventStreamConsumer(own(), {
      stream,
      group: 'api',
      consumer: 'c',
      count: 1,
      blockMs: 50,
      maxFailures: 3,
      handle: async (entries) => {
        for (const e of entries) {
          if (e.envelopes[0]?.jobId === 'poison') {
            attempts++;
            throw new Error('cannot store');
          }
          fine.push(e.envelopes[0].jobId);
        }
      },
    });
    await consumer.start();
    for (let i = 0; i < 100 && fine.length === 0; i++) await sleep(20);
    await consumer.stop();
    expect(attempts).toBe(3);
    expect(fine).toEqual(['fine']);
    expect(await redis.xlen(`${stream}:dead`)).toBe(1);
    expect(await streamBacklog(redis, stream, 'api')).toEqual({ pending: 0, lag: 0 });
  });
});
