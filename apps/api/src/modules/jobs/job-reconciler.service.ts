import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { RedisLock, liveWorkers, type GateState, type QueuedRunState } from '@junction/jobs';
import { isTerminal, type RunError } from '@junction/protocol';
import type { AppConfig } from '../../config/app-config.ts';
import { APP_CONFIG } from '../../config/config.module.ts';
import { JobDispatchService } from './job-dispatch.service.ts';
import { JobPayloadsService } from './job-payloads.service.ts';
import { JobsMetricsService, type StuckKind } from './jobs-metrics.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository, type JobRow } from './jobs.repository.ts';
import { StreamProgress } from './stream-progress.ts';

/** A queued job younger than this may still be between its commit and its admission. */
const QUEUED_GRACE_MS = 5_000;
/** A gate entry unknown to PostgreSQL this long is a leftover (its row was never committed, or deleted). */
const ORPHAN_GRACE_MS = 60_000;
/** An admitted job younger than this is not looked for on the run queue (it is surely there). */
const ADMITTED_GRACE_MS = 10_000;
const BATCH = 1_000;

const WORKER_LOST: RunError = {
  message: 'worker lost: the worker running the job stopped (crashed or killed) before it finished',
  type: 'WorkerLost',
};
const UNREPORTED: RunError = {
  message: 'worker lost: the job left its worker without reporting a result',
  type: 'WorkerLost',
};

/**
 * Every few seconds, compares PostgreSQL (the truth) with Redis and repairs the difference:
 * queued jobs Redis does not know are admitted and enqueued again; jobs whose lease expired
 * (their worker died) are failed, or retried by policy; slots held by finished or unknown jobs are
 * freed. A job is declared lost only once every event written before it looked lost has been
 * stored, so a slow event consumer is never mistaken for a dead worker. One API replica at a time
 * runs a pass (a Redis lock).
 */
@Injectable()
export class JobReconcilerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly config: AppConfig;
  private readonly redis: JobsRedisService;
  private readonly repo: JobsRepository;
  private readonly dispatch: JobDispatchService;
  private readonly payloads: JobPayloadsService;
  private readonly metrics: JobsMetricsService;
  private readonly logger: PinoLogger;
  private readonly lock: RedisLock;
  private readonly progress: StreamProgress;
  /** Jobs that looked lost, with the stream position at that moment. */
  private readonly suspects = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    redis: JobsRedisService,
    repo: JobsRepository,
    dispatch: JobDispatchService,
    payloads: JobPayloadsService,
    metrics: JobsMetricsService,
    logger: PinoLogger,
  ) {
    this.config = config;
    this.redis = redis;
    this.repo = repo;
    this.dispatch = dispatch;
    this.payloads = payloads;
    this.metrics = metrics;
    this.logger = logger;
    this.logger.setContext('job-reconciler');
    this.progress = new StreamProgress(redis.main, redis.names.eventStream, redis.names.eventGroup);
    this.lock = new RedisLock(redis.main, redis.names.reconcilerLock);
  }

  onApplicationBootstrap(): void {
    if (!this.config.jobs.background) return;
    this.timer = setInterval(() => {
      this.current ??= this.pass()
        .catch((error: unknown) => this.logger.error({ error: String(error) }, 'reconciler pass failed'))
        .finally(() => (this.current = undefined));
    }, this.config.jobs.reconcileIntervalMs);
  }

  /** Before the connections close (onApplicationShutdown of JobsRedisService). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
  }

  /** One pass; returns without doing anything when another replica holds the lock. */
  async pass(): Promise<void> {
    await this.lock.runExclusive(this.config.jobs.reconcileIntervalMs * 3 + 10_000, () => this.repair());
  }

  private async repair(): Promise<void> {
    // what the consumer has stored, taken before PostgreSQL is read
    const processed = await this.progress.snapshot();
    await this.sweepGates();
    const queued = await this.repo.byStatus(['queued'], new Date(Date.now() - QUEUED_GRACE_MS), BATCH);
    const active = await this.repo.byStatus(['running', 'cancelling'], new Date(), BATCH);
    await this.ensureVersions([...queued, ...active]);
    const { gated, ungated } = await this.byGating([...queued, ...active]);
    const states = await this.gateStates(gated);
    const onQueue = await this.queueStates(ungated);
    // The stream's end, taken after the gate and the queue were read: a worker writes a job's
    // last events before it frees the slot (or completes the queue job), so every event of a
    // job that looks lost now is at or before this mark, and a later pass whose snapshot covers
    // it has stored them.
    const mark = await this.progress.top();
    const stillSuspect = new Set<string>();
    /** True once the job has looked lost since a mark the consumer has stored everything up to. */
    const confirmed = (id: string): boolean => {
      const seenAt = this.suspects.get(id);
      if (seenAt !== undefined && processed.covers(seenAt)) return true;
      this.suspects.set(id, seenAt ?? mark);
      stillSuspect.add(id);
      return false;
    };
    const leases: Array<{ id: string; until: Date }> = [];
    const waiting: string[] = [];
    const admitted: JobRow[] = [];
    for (const job of gated) {
      const state = states.get(job.id) ?? { state: 'absent' };
      if (state.state === 'waiting') waiting.push(job.id);
      if (state.state === 'running') leases.push({ id: job.id, until: new Date(state.leaseUntil) });
      // a recent admission is on the queue or about to be: only older ones are checked
      if (state.state === 'admitted' && (state.since ?? 0) < Date.now() - ADMITTED_GRACE_MS)
        admitted.push(job);
      if (job.status === 'queued' && state.state === 'absent') await this.readmit(job);
      const lost =
        (job.status === 'queued' && state.state === 'done') ||
        (job.status !== 'queued' &&
          (state.state === 'done' || state.state === 'absent' || state.state === 'expired'));
      if (!lost) continue;
      // lost only if every event written before it looked lost is stored and it still is
      if (!confirmed(job.id)) continue;
      await this.lost(job, job.status === 'queued' ? 'unreported' : 'worker_lost');
    }
    for (const job of ungated) await this.repairUngated(job, onQueue.get(job.id), confirmed);
    for (let i = 0; i < admitted.length; i += 100) {
      await Promise.all(admitted.slice(i, i + 100).map((job) => this.ensureEnqueued(job)));
    }
    for (const id of this.suspects.keys()) if (!stillSuspect.has(id)) this.suspects.delete(id);
    await this.repo.setWaiting(waiting, true);
    await this.repo.setLeases(leases);
  }

  /**
   * A job of an unlimited flow (no gate): its place on the run queue and its worker's heartbeat
   * say whether it is alive. Queued and unknown to the queue → enqueued again; taken by a worker
   * that stopped beating, or finished on the queue without its result stored → lost; cancelling
   * and still waiting on the queue → taken off and cancelled.
   */
  private async repairUngated(
    job: JobRow,
    onQueue: (QueuedRunState & { alive: boolean }) | undefined,
    confirmed: (id: string) => boolean,
  ): Promise<void> {
    const state = onQueue?.state ?? 'unknown';
    switch (state) {
      case 'waiting':
      case 'delayed':
      case 'prioritized':
      case 'waiting-children':
        if (job.status === 'cancelling') await this.cancelQueued(job);
        return;
      case 'active':
        // a queue job not yet marked with its worker is being taken right now
        if (onQueue?.worker === undefined || onQueue.alive) return;
        break;
      case 'unknown':
        if (job.status === 'queued') {
          if (confirmed(job.id)) await this.requeue(job);
          return;
        }
        break;
      case 'completed':
      case 'failed':
        // the worker finished it (or the stalled check gave it up) and PostgreSQL has no result
        break;
    }
    if (!confirmed(job.id)) return;
    await this.lost(job, job.status === 'queued' ? 'unreported' : 'worker_lost', false);
  }

  /** Every flow version a queued or running job needs is in the version store (Redis may have lost it). */
  private async ensureVersions(jobs: readonly JobRow[]): Promise<void> {
    const ids = [...new Set(jobs.map((j) => j.flow_version_id))];
    const versions = await Promise.all(ids.map((id) => this.payloads.version(id).catch(() => undefined)));
    const written = await this.redis.versions.ensure(
      versions.flatMap((v) => (v ? [{ id: v.versionId, definition: v.definition }] : [])),
    );
    if (written > 0)
      this.logger.warn({ versions: written }, 'flow versions were missing in Redis: stored again');
  }

  /** Jobs split by whether they go through their flow's gate (the version's concurrency says). */
  private async byGating(jobs: readonly JobRow[]): Promise<{ gated: JobRow[]; ungated: JobRow[] }> {
    const gated: JobRow[] = [];
    const ungated: JobRow[] = [];
    for (const [versionId, versionJobs] of Map.groupBy(jobs, (j) => j.flow_version_id)) {
      const isGated = await this.payloads.gated(versionId).catch(() => true);
      (isGated ? gated : ungated).push(...versionJobs);
    }
    return { gated, ungated };
  }

  private async queueStates(
    jobs: readonly JobRow[],
  ): Promise<Map<string, QueuedRunState & { alive: boolean }>> {
    const out = new Map<string, QueuedRunState & { alive: boolean }>();
    if (jobs.length === 0) return out;
    const states = await this.redis.dispatcher.states(jobs.map((j) => j.id));
    const workers = [...states.values()].flatMap((s) => (s.worker ? [s.worker] : []));
    const alive = await liveWorkers(this.redis.main, this.redis.names.workerHeartbeatPrefix, workers);
    for (const [id, s] of states) out.set(id, { ...s, alive: s.worker !== undefined && alive.has(s.worker) });
    return out;
  }

  /** A cancelling job still waiting on the queue (its cancel came before its enqueue): off it goes. */
  private async cancelQueued(job: JobRow): Promise<void> {
    if ((await this.redis.dispatcher.cancel(job.flow_id, job.id, false)) !== 'removed') return;
    await this.repo.transition(job.id, 'cancelled', {}, true);
    this.stuck('cancelled_on_queue', { jobId: job.id, flowId: job.flow_id });
  }

  /** A queued job the queue lost (or never got): every event written before is stored, so it never ran. */
  private async requeue(job: JobRow): Promise<void> {
    this.suspects.delete(job.id);
    await this.dispatch.enqueue(job);
    this.stuck('readmitted', { jobId: job.id, admission: 'admitted' });
  }

  /** Reclaims expired leases, fills free slots and frees slots held by finished or unknown jobs. */
  private async sweepGates(): Promise<void> {
    const { gate, dispatcher } = this.redis;
    for (const flowId of await gate.flows()) {
      const swept = await gate.sweep(flowId);
      await dispatcher.enqueuePromoted(swept);
      const { active, waiting } = await gate.members(flowId);
      const ids = [...active, ...waiting];
      const known = await this.repo.info(ids);
      const states = await gate.inspect(flowId, ids);
      for (const id of ids) {
        const row = known.get(id);
        const since = sinceOf(states.get(id));
        const orphan = row === undefined && since !== undefined && Date.now() - since > ORPHAN_GRACE_MS;
        if (!orphan && !(row !== undefined && isTerminal(row.status))) continue;
        await dispatcher.release(flowId, id);
        this.stuck('slot_released', { jobId: id, flowId, status: row?.status ?? 'unknown' });
      }
    }
  }

  private async gateStates(jobs: readonly JobRow[]): Promise<Map<string, GateState>> {
    const out = new Map<string, GateState>();
    for (const [flowId, flowJobs] of Map.groupBy(jobs, (j) => j.flow_id)) {
      const ids = flowJobs.map((j) => j.id);
      for (const [id, state] of await this.redis.gate.inspect(flowId, ids)) out.set(id, state);
    }
    return out;
  }

  /** An admitted job must be on the run queue (it may have been lost between the gate and the queue). */
  private async ensureEnqueued(job: JobRow): Promise<void> {
    const { dispatcher } = this.redis;
    const state = await dispatcher.state(job.id);
    if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return;
    // finished in BullMQ but admitted and never started (a worker skipped it): put it back
    if (state !== 'unknown') await dispatcher.removeQueued(job.id);
    await this.dispatch.enqueue(job);
    this.stuck('requeued', { jobId: job.id, queueState: state });
  }

  private async readmit(job: JobRow): Promise<void> {
    const admission = await this.dispatch.readmit(job);
    this.stuck('readmitted', { jobId: job.id, admission: admission.status });
  }

  /** A job whose worker is gone: failed (or cancelled if it was being cancelled), retried by policy. */
  private async lost(job: JobRow, kind: StuckKind, gated = true): Promise<void> {
    this.suspects.delete(job.id);
    const cancelling = job.status === 'cancelling';
    const updated = cancelling
      ? await this.repo.transition(job.id, 'cancelled', {}, true)
      : await this.repo.transition(
          job.id,
          'failed',
          { error: kind === 'unreported' ? UNREPORTED : WORKER_LOST },
          true,
        );
    if (gated) await this.redis.dispatcher.release(job.flow_id, job.id);
    if (!updated) return;
    this.stuck(kind, { jobId: job.id, flowId: job.flow_id, now: updated.status });
    const { lostPolicy, maxAttempts } = this.config.jobs;
    if (!cancelling && lostPolicy === 'retry' && job.attempt < maxAttempts) {
      const { job: child } = await this.dispatch.retry(updated);
      this.logger.warn({ jobId: job.id, retryJobId: child.id, attempt: child.attempt }, 'lost job retried');
    }
  }

  private stuck(kind: StuckKind, details: Record<string, unknown>): void {
    this.metrics.stuck.inc({ kind });
    this.logger.warn({ kind, ...details }, 'reconciler repaired a job');
  }
}

function sinceOf(state: GateState | undefined): number | undefined {
  if (!state || state.state === 'absent' || state.state === 'done') return undefined;
  return state.since;
}
