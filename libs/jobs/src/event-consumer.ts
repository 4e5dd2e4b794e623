import type { Redis } from 'ioredis';
import { EVENT_BATCH_FIELD, decodeEventBatch, type JobEventEnvelope } from '@junction/protocol';

export interface StreamEntry {
  id: string;
  envelopes: JobEventEnvelope[];
}

export interface EventConsumerOptions {
  stream: string;
  group: string;
  /** Unique per process: entries are pending on it until acknowledged. */
  consumer: string;
  /** Stores the entries; they are acknowledged only after it resolves. */
  handle: (entries: StreamEntry[]) => Promise<void>;
  /** Entries per read (default 50; each holds up to a few hundred events). */
  count?: number;
  blockMs?: number;
  /** Entries pending this long on a consumer are taken over (its process died). Default 30 s. */
  claimIdleMs?: number;
  claimEveryMs?: number;
  /** A batch the handler failed on this many times is set aside on `<stream>:dead`. Default 5. */
  maxFailures?: number;
  /**
   * After a read that did not fill a batch, wait this long before the next one, so entries gather
   * into fewer, larger transactions (default 0: read again at once).
   */
  lingerMs?: number;
  onError?: (error: unknown) => void;
}

export interface StreamBacklog {
  /** Entries delivered to a consumer and not acknowledged yet. */
  pending: number;
  /** Entries not delivered to any consumer yet. */
  lag: number;
}

/**
 * Reads the event stream in a consumer group, so several API replicas share the work; each entry
 * is acknowledged after the handler stored it, and entries of a consumer that died are claimed by
 * another after `claimIdleMs`. Handlers must be idempotent: an entry can be handled twice.
 * Needs a connection of its own (the reads block).
 */
export class EventStreamConsumer {
  private readonly redis: Redis;
  private readonly opts: Required<Omit<EventConsumerOptions, 'onError'>> & {
    onError: (error: unknown) => void;
  };
  private running = false;
  private loop: Promise<void> | undefined;
  private nextClaimAt = 0;
  private readOwnPending = true;
  private readonly failures = new Map<string, number>();
  /** When a read from Redis last completed: the API's readiness. */
  lastReadAt = 0;

  constructor(redis: Redis, options: EventConsumerOptions) {
    this.redis = redis;
    this.opts = {
      count: 50,
      blockMs: 1_000,
      claimIdleMs: 30_000,
      claimEveryMs: 5_000,
      maxFailures: 5,
      lingerMs: 0,
      onError: () => undefined,
      ...options,
    };
  }

  async start(): Promise<void> {
    await ensureGroup(this.redis, this.opts.stream, this.opts.group);
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async backlog(): Promise<StreamBacklog> {
    return streamBacklog(this.redis, this.opts.stream, this.opts.group);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (Date.now() >= this.nextClaimAt) {
          this.nextClaimAt = Date.now() + this.opts.claimEveryMs;
          await this.claimAbandoned();
        }
        const entries = await this.read(this.readOwnPending ? '0' : '>');
        this.lastReadAt = Date.now();
        if (this.readOwnPending && entries.length === 0) this.readOwnPending = false;
        if (entries.length > 0) await this.process(entries);
        if (entries.length > 0 && entries.length < this.opts.count && this.opts.lingerMs > 0) {
          await sleep(this.opts.lingerMs);
        }
      } catch (error) {
        if (isNoGroup(error)) {
          // Redis lost the stream and its group (a restart without persistence, a flush): make
          // them again and read from the start, which holds only what was written since
          await ensureGroup(this.redis, this.opts.stream, this.opts.group).catch(this.opts.onError);
          this.opts.onError(new Error(`the event stream's consumer group was gone; created it again`));
        } else {
          this.opts.onError(error);
        }
        this.readOwnPending = true;
        if (this.running) await sleep(500);
      }
    }
  }

  private async read(from: '0' | '>'): Promise<StreamEntry[]> {
    const { group, consumer, count, blockMs, stream } = this.opts;
    const args: Array<string | number> = ['GROUP', group, consumer, 'COUNT', count];
    if (from === '>') args.push('BLOCK', blockMs);
    args.push('STREAMS', stream, from);
    const reply = await this.redis.call('XREADGROUP', ...args);
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const [, entries] = reply[0] as [string, unknown];
    return parseEntries(entries);
  }

  private async claimAbandoned(): Promise<void> {
    const { stream, group, consumer, claimIdleMs, count } = this.opts;
    let cursor = '0-0';
    // bounded: a few pages per round, the rest next round
    for (let page = 0; page < 10; page++) {
      const reply = (await this.redis.call(
        'XAUTOCLAIM',
        stream,
        group,
        consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        count,
      )) as [string, unknown, unknown?];
      const entries = parseEntries(reply[1]);
      if (entries.length > 0) await this.process(entries);
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
  }

  private async process(entries: StreamEntry[]): Promise<void> {
    const ids = entries.map((e) => e.id);
    try {
      await this.opts.handle(entries);
    } catch (error) {
      const key = ids[0];
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      if (failures < this.opts.maxFailures) throw error;
      // a batch that keeps failing must not stop every other job's events: set it aside
      this.failures.delete(key);
      this.opts.onError(error);
      const pipeline = this.redis.pipeline();
      for (const e of entries) {
        pipeline.xadd(
          `${this.opts.stream}:dead`,
          'MAXLEN',
          '~',
          10_000,
          '*',
          EVENT_BATCH_FIELD,
          JSON.stringify(e.envelopes),
        );
      }
      await pipeline.exec();
    }
    this.failures.delete(ids[0]);
    await this.redis.xack(this.opts.stream, this.opts.group, ...ids);
  }
}

export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    // from the start: events written before the first API replica came up are not skipped
    await redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}

export async function streamBacklog(redis: Redis, stream: string, group: string): Promise<StreamBacklog> {
  let reply: unknown;
  try {
    reply = await redis.call('XINFO', 'GROUPS', stream);
  } catch {
    return { pending: 0, lag: 0 };
  }
  if (!Array.isArray(reply)) return { pending: 0, lag: 0 };
  for (const info of reply as unknown[][]) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    if (fields.get('name') !== group) continue;
    const lag = fields.get('lag');
    return {
      pending: Number(fields.get('pending') ?? 0),
      // null when Redis cannot tell (after trimming/deletes): assume there is a backlog
      lag: lag === null || lag === undefined ? 1 : Number(lag),
    };
  }
  return { pending: 0, lag: 0 };
}

function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw as unknown[]) {
    if (!Array.isArray(item)) continue;
    const [id, fields] = item as [string, unknown];
    const envelopes: JobEventEnvelope[] = [];
    if (Array.isArray(fields)) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === EVENT_BATCH_FIELD) envelopes.push(...decodeEventBatch(String(fields[i + 1])));
      }
    }
    out.push({ id, envelopes });
  }
  return out;
}

function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
