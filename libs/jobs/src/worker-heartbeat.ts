import type { Redis } from 'ioredis';

export interface WorkerHeartbeatOptions {
  /** Key prefix, e.g. `junction:worker`. */
  prefix: string;
  workerId: string;
  /** How long a beat keeps the worker alive; beats go out three times per period. */
  ttlMs: number;
  /** Called after each beat Redis acknowledged (the worker's readiness). */
  onBeat?: () => void;
  onError?: (error: unknown) => void;
}

/**
 * A worker's sign of life: a key that expires unless the worker renews it. Jobs that skip the
 * concurrency gate (unlimited flows) hold no lease of their own, so a job whose worker's key has
 * expired is known to be lost: one write per worker every few seconds instead of one per job.
 */
export class WorkerHeartbeat {
  private readonly redis: Redis;
  private readonly opts: WorkerHeartbeatOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, options: WorkerHeartbeatOptions) {
    this.redis = redis;
    this.opts = options;
  }

  get key(): string {
    return heartbeatKey(this.opts.prefix, this.opts.workerId);
  }

  /** Beats once (so the worker is alive before it takes a job), then every ttl/3. */
  async start(): Promise<void> {
    await this.beat();
    const every = Math.max(Math.floor(this.opts.ttlMs / 3), 100);
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) => this.opts.onError?.(error));
    }, every);
  }

  /** Stops beating and removes the key: the worker's jobs were finished or handed back. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.del(this.key).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.key, String(Date.now()), 'PX', this.opts.ttlMs);
    this.opts.onBeat?.();
  }
}

export function heartbeatKey(prefix: string, workerId: string): string {
  return `${prefix}:${workerId}`;
}

/** The workers among `workerIds` whose heartbeat has not expired. */
export async function liveWorkers(
  redis: Redis,
  prefix: string,
  workerIds: Iterable<string>,
): Promise<Set<string>> {
  const ids = [...new Set(workerIds)];
  if (ids.length === 0) return new Set();
  const beats = await redis.mget(...ids.map((id) => heartbeatKey(prefix, id)));
  return new Set(ids.filter((_, i) => beats[i] !== null));
}
