import type { Redis } from 'ioredis';
import { ACQUIRE, CANCEL, HAND_BACK, INSPECT, RELEASE, RENEW, START, SWEEP } from './gate.scripts.ts';
import type { RedisScript } from './redis-script.ts';

/** A job moved from the wait list into a free slot: the caller must put it on the run queue. */
export interface PromotedJob {
  jobId: string;
  /** The run payload stored when it started waiting ('' if none was stored). */
  payload: string;
}

/** Changes to the gate besides the operation's own result. */
export interface GateEffects {
  /** Jobs that got a slot: put them on the run queue (idempotent by job id). */
  promoted: PromotedJob[];
  /** Jobs whose lease had expired: their worker is gone, they no longer hold a slot. */
  reclaimed: string[];
}

export type Admission =
  | { status: 'admitted' }
  | { status: 'waiting'; position: number }
  | { status: 'busy'; runningJobId: string }
  /** The job already went through the gate: it must not run again. */
  | { status: 'done' };

export type StartResult =
  | { status: 'started'; leaseUntil: number }
  /** Not admitted: cancelled before it started, or unknown to the gate. */
  | { status: 'absent' }
  | { status: 'done' }
  /** Another worker holds it. */
  | { status: 'taken'; owner: string };

export type CancelResult = 'removed' | 'running' | 'done' | 'absent';

export type GateState =
  | { state: 'waiting'; position: number; since?: number }
  | { state: 'admitted'; since?: number }
  | { state: 'running'; leaseUntil: number; since?: number }
  | { state: 'expired'; leaseUntil: number; since?: number }
  | { state: 'done'; at: number }
  | { state: 'absent' };

export interface ConcurrencyGateOptions {
  /** Key prefix, e.g. `junction:gate`. */
  prefix: string;
  /**
   * How long finished job ids are remembered, so they are never admitted twice (default 1 hour;
   * at most MAX_DONE_JOBS of them in any case).
   */
  doneRetentionMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** `max` of the flow's concurrency: a number, or 'unlimited'. */
export type ConcurrencyMax = number | 'unlimited';

/** status, detail, promoted (id, payload pairs), reclaimed, and for release the ids that held a place */
type ScriptReply = [string, string, string[], string[], string[]?];

/**
 * Per-flow lease semaphore with a FIFO wait list. A job is gated before it becomes runnable:
 * admitted jobs go on the run queue, the others wait in order and are promoted as slots free up,
 * so a busy flow never re-delays (and so reorders) its jobs. A worker turns the admission into a
 * lease when it starts the job and renews it while running; a lease that is not renewed expires
 * and frees the slot. Safe under concurrent callers: each operation is one Lua script.
 */
export class ConcurrencyGate {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(redis: Redis, options: ConcurrencyGateOptions) {
    this.redis = redis;
    this.prefix = options.prefix;
    this.retentionMs = options.doneRetentionMs ?? 3600_000;
    this.now = options.now ?? Date.now;
  }

  /** Admits the job into a free slot, or queues it behind the others (onBusy queue), or refuses it (skip). */
  async acquire(
    flowId: string,
    jobId: string,
    options: { max: ConcurrencyMax; onBusy: 'queue' | 'skip'; payload: string },
  ): Promise<Admission & GateEffects> {
    const max = options.max === 'unlimited' ? 0 : Math.max(1, Math.floor(options.max));
    const [status, detail, promoted, reclaimed] = await this.call(ACQUIRE, flowId, [
      jobId,
      max,
      options.onBusy,
      options.payload,
    ]);
    const effects = { promoted: pairs(promoted), reclaimed };
    switch (status) {
      case 'admitted':
        return { status, ...effects };
      case 'waiting':
        return { status, position: Number(detail), ...effects };
      case 'busy':
        return { status, runningJobId: detail, ...effects };
      case 'done':
        return { status, ...effects };
      default:
        throw new Error(`concurrency gate: unexpected acquire reply "${status}"`);
    }
  }

  /** Turns an admission into a lease held by `owner`; refuses a job that is not admitted. */
  async start(
    flowId: string,
    jobId: string,
    owner: string,
    leaseMs: number,
  ): Promise<StartResult & GateEffects> {
    const [status, detail, promoted, reclaimed] = await this.call(START, flowId, [jobId, owner, leaseMs]);
    const effects = { promoted: pairs(promoted), reclaimed };
    switch (status) {
      case 'started':
        return { status, leaseUntil: Number(detail), ...effects };
      case 'absent':
      case 'done':
        return { status, ...effects };
      case 'taken':
        return { status, owner: detail, ...effects };
      default:
        throw new Error(`concurrency gate: unexpected start reply "${status}"`);
    }
  }

  /** Extends the lease; false when it was lost (expired and reclaimed, or released). */
  async renew(flowId: string, jobId: string, owner: string, leaseMs: number): Promise<boolean> {
    const reply = await RENEW.run(this.redis, this.keys(flowId), [
      this.now(),
      flowId,
      this.retentionMs,
      jobId,
      owner,
      leaseMs,
    ]);
    return reply === 1;
  }

  /** Frees the job's slot (or wait place) for good and promotes the next jobs. Idempotent. */
  async release(flowId: string, jobId: string): Promise<{ released: boolean } & GateEffects> {
    const { released, ...effects } = await this.releaseMany(flowId, [jobId]);
    return { released: released.length > 0, ...effects };
  }

  /** release() for several jobs of a flow in one script call; `released` names those that held a place. */
  async releaseMany(
    flowId: string,
    jobIds: readonly string[],
  ): Promise<{ released: string[] } & GateEffects> {
    const [, , promoted, reclaimed, held] = await this.call(RELEASE, flowId, jobIds);
    return { released: held ?? [], promoted: pairs(promoted), reclaimed };
  }

  /** A worker shutting down gives the job back: it stays admitted, for another worker to start. */
  async handBack(flowId: string, jobId: string, owner: string): Promise<boolean> {
    const reply = await HAND_BACK.run(this.redis, this.keys(flowId), [
      this.now(),
      flowId,
      this.retentionMs,
      jobId,
      owner,
    ]);
    return reply === 1;
  }

  /** Takes a job that has not started out of the gate; tells whether it is running instead. */
  async cancel(flowId: string, jobId: string): Promise<{ status: CancelResult } & GateEffects> {
    const [status, , promoted, reclaimed] = await this.call(CANCEL, flowId, [jobId]);
    return { status: status as CancelResult, promoted: pairs(promoted), reclaimed };
  }

  /** Reclaims expired leases of the flow and fills free slots. */
  async sweep(flowId: string): Promise<GateEffects> {
    const [, , promoted, reclaimed] = await this.call(SWEEP, flowId, []);
    return { promoted: pairs(promoted), reclaimed };
  }

  async inspect(flowId: string, jobIds: readonly string[]): Promise<Map<string, GateState>> {
    const out = new Map<string, GateState>();
    if (jobIds.length === 0) return out;
    const reply = (await INSPECT.run(this.redis, this.keys(flowId), [
      this.now(),
      flowId,
      this.retentionMs,
      ...jobIds,
    ])) as Array<[string, string, string]>;
    jobIds.forEach((id, i) => {
      const [state, value, sinceText] = reply[i];
      const since = sinceText === '' ? undefined : Number(sinceText);
      switch (state) {
        case 'waiting':
          out.set(id, { state, position: Number(value), since });
          break;
        case 'admitted':
          out.set(id, { state, since });
          break;
        case 'running':
        case 'expired':
          out.set(id, { state, leaseUntil: Number(value), since });
          break;
        case 'done':
          out.set(id, { state, at: Number(value) });
          break;
        default:
          out.set(id, { state: 'absent' });
      }
    });
    return out;
  }

  /** Flows that have jobs in the gate. */
  async flows(): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}:flows`);
  }

  /** How many jobs of the flow hold a slot and how many wait. */
  async counts(flowId: string): Promise<{ active: number; waiting: number }> {
    const [activeKey, waitKey] = this.keys(flowId);
    const [active, waiting] = await Promise.all([this.redis.zcard(activeKey), this.redis.zcard(waitKey)]);
    return { active, waiting };
  }

  /** Jobs holding a slot (admitted or running) and jobs waiting, in order. */
  async members(flowId: string): Promise<{ active: string[]; waiting: string[] }> {
    const [activeKey, waitKey] = this.keys(flowId);
    const [active, waiting] = await Promise.all([
      this.redis.zrange(activeKey, 0, -1),
      this.redis.zrange(waitKey, 0, -1),
    ]);
    return { active, waiting };
  }

  private async call(
    script: RedisScript,
    flowId: string,
    args: ReadonlyArray<string | number>,
  ): Promise<ScriptReply> {
    const reply = (await script.run(this.redis, this.keys(flowId), [
      this.now(),
      flowId,
      this.retentionMs,
      ...args,
    ])) as ScriptReply;
    return reply;
  }

  private keys(flowId: string): string[] {
    const f = `${this.prefix}:flow:${flowId}`;
    return [
      `${f}:active`,
      `${f}:wait`,
      `${f}:payloads`,
      `${f}:owners`,
      `${f}:meta`,
      `${f}:since`,
      `${this.prefix}:done`,
      `${this.prefix}:seq`,
      `${this.prefix}:flows`,
    ];
  }
}

function pairs(flat: readonly string[]): PromotedJob[] {
  const out: PromotedJob[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ jobId: flat[i], payload: flat[i + 1] });
  return out;
}
