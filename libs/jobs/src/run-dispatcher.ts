import { Queue, type JobState, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_NAMES, QUEUES, type JobPayload, type RedisNames } from '@junction/protocol';
import type {
  Admission,
  CancelResult,
  ConcurrencyGate,
  ConcurrencyMax,
  GateEffects,
} from './concurrency-gate.ts';

/**
 * Finished jobs stay in BullMQ for a while, so a late re-add of the same id is a no-op; the gate's
 * done set is what really stops a second run.
 */
export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { age: 3_600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
};

export interface RunConcurrency {
  max: ConcurrencyMax;
  onBusy: 'queue' | 'skip';
}

export type BullJobState = JobState | 'unknown';

/** Where a run stands on the queue, for the reconciler. */
export interface QueuedRunState {
  state: BullJobState;
  /** The worker that took it (BullMQ's processedBy), once one has. */
  worker?: string;
}

/**
 * Whether jobs of a flow go through its concurrency gate. Unlimited flows have no slot to
 * claim, so they skip it: three Redis scripts fewer per run.
 */
export function isGated(concurrency: Pick<RunConcurrency, 'max'>): boolean {
  return concurrency.max !== 'unlimited';
}

/** Whether a payload's job goes through the gate (payloads from before `gated` existed all did). */
export function payloadIsGated(payload: Pick<JobPayload, 'gated'>): boolean {
  return payload.gated !== false;
}

/**
 * Puts runs on the queue through the flow's concurrency gate. Used by the API (admission, cancel,
 * reconciler) and by workers (release at the end of a run): whoever frees a slot enqueues the jobs
 * the gate promoted into it.
 */
export class RunDispatcher {
  readonly queue: Queue;
  readonly gate: ConcurrencyGate;
  private readonly redis: Redis;
  private readonly onEnqueueError: (error: unknown, jobId: string) => void;

  constructor(
    connection: Redis,
    names: RedisNames,
    gate: ConcurrencyGate,
    options: { onEnqueueError?: (error: unknown, jobId: string) => void } = {},
  ) {
    this.queue = new Queue(QUEUES.runs, { connection, prefix: names.bullPrefix });
    this.redis = connection;
    this.gate = gate;
    this.onEnqueueError = options.onEnqueueError ?? (() => undefined);
  }

  /**
   * Gates a job whose row is already committed: admitted → on the run queue now; waiting → its
   * payload is kept with its place in line and it is enqueued when promoted. A job of an
   * unlimited flow goes straight on the queue.
   */
  async admit(payload: JobPayload, concurrency: RunConcurrency): Promise<Admission> {
    if (!payloadIsGated(payload)) {
      await this.enqueue(payload);
      return { status: 'admitted' };
    }
    const result = await this.gate.acquire(payload.flowId, payload.jobId, {
      max: concurrency.max,
      onBusy: concurrency.onBusy,
      payload: JSON.stringify(payload),
    });
    await this.enqueuePromoted(result);
    if (result.status === 'admitted') await this.enqueue(payload);
    const { promoted: _p, reclaimed: _r, ...admission } = result;
    return admission;
  }

  /** Adds the run to the queue; a job id already there is left as it is. */
  async enqueue(payload: JobPayload): Promise<void> {
    await this.queue.add(JOB_NAMES.runFlow, payload, { ...RUN_JOB_OPTIONS, jobId: payload.jobId });
  }

  /** Enqueues what a gate operation promoted. Failures are reported, not thrown: the reconciler retries. */
  async enqueuePromoted(effects: Pick<GateEffects, 'promoted'>): Promise<void> {
    const jobs = [];
    for (const p of effects.promoted) {
      if (p.payload === '') {
        this.onEnqueueError(new Error('promoted job has no stored payload'), p.jobId);
        continue;
      }
      try {
        jobs.push({
          name: JOB_NAMES.runFlow,
          data: JSON.parse(p.payload) as JobPayload,
          opts: { ...RUN_JOB_OPTIONS, jobId: p.jobId },
        });
      } catch (error) {
        this.onEnqueueError(error, p.jobId);
      }
    }
    if (jobs.length === 0) return;
    try {
      await this.queue.addBulk(jobs);
    } catch (error) {
      for (const j of jobs) this.onEnqueueError(error, j.opts.jobId);
    }
  }

  /** Frees the job's slot and enqueues the jobs promoted into it. Idempotent. */
  async release(flowId: string, jobId: string): Promise<GateEffects & { released: boolean }> {
    const result = await this.gate.release(flowId, jobId);
    await this.enqueuePromoted(result);
    return result;
  }

  /** release() for several jobs of one flow, in one gate call. */
  async releaseMany(
    flowId: string,
    jobIds: readonly string[],
  ): Promise<GateEffects & { released: string[] }> {
    const result = await this.gate.releaseMany(flowId, jobIds);
    await this.enqueuePromoted(result);
    return result;
  }

  /**
   * Cancels on the gate side: a job that has not started leaves the gate (and the run queue) for
   * good; 'running' means its worker must be told. A job that skips the gate is taken off the
   * queue if no worker has it; 'absent' then means the queue does not know it (yet).
   */
  async cancel(flowId: string, jobId: string, gated = true): Promise<CancelResult> {
    if (!gated) return this.cancelQueued(jobId);
    const result = await this.gate.cancel(flowId, jobId);
    await this.enqueuePromoted(result);
    if (result.status === 'removed') await this.removeQueued(jobId);
    return result.status;
  }

  /** Removes a job from the run queue if no worker has taken it; a taken one is refused by the gate anyway. */
  async removeQueued(jobId: string): Promise<void> {
    try {
      await this.queue.remove(jobId);
    } catch {
      // locked by a worker: its gate.start() fails and it skips the job
    }
  }

  async state(jobId: string): Promise<BullJobState> {
    return this.queue.getJobState(jobId);
  }

  /** Queue state and worker of each job (at most a few thousand: one pass of the reconciler). */
  async states(jobIds: readonly string[]): Promise<Map<string, QueuedRunState>> {
    const out = new Map<string, QueuedRunState>();
    for (let i = 0; i < jobIds.length; i += 200) {
      const ids = jobIds.slice(i, i + 200);
      const [states, workers] = await Promise.all([
        Promise.all(ids.map((id) => this.queue.getJobState(id))),
        // BullMQ records the taking worker's name in the job hash ("pb", processedBy)
        Promise.all(ids.map((id) => this.redis.hget(this.queue.toKey(id), 'pb'))),
      ]);
      ids.forEach((id, k) => {
        const worker = workers[k];
        out.set(id, worker ? { state: states[k], worker } : { state: states[k] });
      });
    }
    return out;
  }

  private async cancelQueued(jobId: string): Promise<CancelResult> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'unknown') return 'absent';
    if (state === 'completed' || state === 'failed') return 'done';
    if (state === 'active') return 'running';
    // BullMQ removes any job no worker holds a lock on (0: one took it since). A job finished in
    // the instant between the two calls is reported cancelled, its result dropped: a cancel of
    // a job that has not started is never missed, which matters more.
    return (await this.queue.remove(jobId)) === 1 ? 'removed' : 'running';
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
