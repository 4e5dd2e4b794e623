import { WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { runFlow, type SharedResources } from '@junction/engine';
import {
  ConfigError,
  FlowSchema,
  FlowValidationError,
  errorMessage,
  type ConnectorRegistry,
  type Flow,
} from '@junction/flow';
import {
  payloadIsGated,
  type ConcurrencyGate,
  type EventPublisher,
  type FlowVersionStore,
  type RunDispatcher,
} from '@junction/jobs';
import {
  SEQ_PER_RUN,
  decryptSecret,
  parseJobPayload,
  type JobFinishedEvent,
  type JobPayload,
  type RunError,
  type RunOutcome,
} from '@junction/protocol';
import { JobEventSink } from './job-event-sink.ts';
import { RunTrace } from './run-tracing.ts';
import type { WorkerConfig } from './worker-config.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export interface RunProcessorDeps {
  gate: ConcurrencyGate;
  dispatcher: RunDispatcher;
  publisher: EventPublisher;
  versions: FlowVersionStore;
  registry: ConnectorRegistry;
  shared: SharedResources;
  config: WorkerConfig;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Called when the worker proved it can still talk to Redis (readiness). */
  onProgress: () => void;
}

/** A run in progress on this worker. */
interface ActiveRun {
  readonly jobId: string;
  /** Holds a slot of the flow's concurrency gate (false: an unlimited flow, no slot). */
  readonly gated: boolean;
  readonly controller: AbortController;
  /** Set at the end of the shutdown grace: abort and give the job back to the queue. */
  handBack: boolean;
  /** Set when the lease could not be renewed: another worker may hold the slot now. */
  leaseLost: boolean;
}

export type ProcessOutcome = RunOutcome | 'skipped';

const PROGRESS_EVERY_MS = 2_000;
const FLOW_CACHE_SIZE = 200;
/** How long a cancel for a job this worker does not run is remembered, in case the job arrives next. */
const EARLY_CANCEL_MS = 60_000;
const EARLY_CANCEL_MAX = 10_000;
/** How long a run waits for its flow version to appear in the store, and how often it looks. */
const VERSION_WAIT_MS = 15_000;
const VERSION_POLL_MS = 500;

/**
 * Runs one job: claims its concurrency slot, runs the flow with the engine, streams the events,
 * and frees the slot (which promotes the next waiting job). Thin on purpose: the engine does the
 * work, the gate and the stream do the bookkeeping.
 */
export class RunProcessor {
  private readonly deps: RunProcessorDeps;
  private readonly active = new Map<string, ActiveRun>();
  private readonly flows = new Map<string, Flow>();
  /**
   * Cancels that came for jobs not running here, with when they expire. A job that skips the gate
   * can be taken from the queue just as its cancel is published (nothing claims it atomically
   * against the cancel, as the gate does): it starts cancelled if its cancel came first.
   */
  private readonly earlyCancels = new Map<string, number>();

  constructor(deps: RunProcessorDeps) {
    this.deps = deps;
  }

  get runningCount(): number {
    return this.active.size;
  }

  /** A cancel request for a job: aborts it if it runs here. */
  cancel(jobId: string): boolean {
    const run = this.active.get(jobId);
    if (!run) {
      this.rememberCancel(jobId);
      return false;
    }
    this.deps.logger.info({ jobId }, 'cancelling job');
    run.controller.abort(new Error('cancelled by request'));
    return true;
  }

  /**
   * BullMQ could not renew its locks on these jobs (Redis unreachable, or the stalled check gave
   * them up): a job that skips the gate has no other lease, so it stops as if its lease was lost.
   */
  locksLost(jobIds: readonly string[]): void {
    for (const jobId of jobIds) {
      const run = this.active.get(jobId);
      if (run && !run.gated) this.loseLease(run, this.deps.logger.child({ jobId }), 'BullMQ lock lost');
    }
  }

  /** End of the shutdown grace: abort every run and give the jobs back to the queue. */
  handBackAll(): number {
    for (const run of this.active.values()) {
      run.handBack = true;
      run.controller.abort(new Error('worker shutting down'));
    }
    return this.active.size;
  }

  async process(job: Job, token: string | undefined): Promise<ProcessOutcome> {
    const { logger, config } = this.deps;
    const jobId = job.id ?? '';
    let payload: JobPayload;
    try {
      payload = parseJobPayload(job.data);
    } catch (error) {
      await this.refuseBadPayload(job, errorMessage(error));
      return 'failed';
    }

    const gated = payloadIsGated(payload);
    const run: ActiveRun = {
      jobId,
      gated,
      controller: new AbortController(),
      handBack: false,
      leaseLost: false,
    };
    // registered before the slot is claimed, so a cancel published right after the claim finds it
    this.active.set(jobId, run);
    const log = logger.child({ jobId, flowId: payload.flowId });
    let leaseTimer: NodeJS.Timeout | undefined;
    let outcome: RunOutcome;
    let runTrace: RunTrace;
    let startedAt = 0;
    try {
      if (gated) {
        const claim = await this.deps.gate.start(payload.flowId, jobId, config.workerId, config.leaseMs);
        await this.deps.dispatcher.enqueuePromoted(claim);
        if (claim.status !== 'started') {
          // cancelled before it started, already finished, or held by another worker
          log.info({ gate: claim.status }, 'job not admitted on the gate: skipped');
          this.deps.metrics.jobs.inc({ status: 'skipped' });
          return 'skipped';
        }
        this.deps.onProgress();
        leaseTimer = this.keepLease(payload, run, log);
      }
      if (this.earlyCancels.delete(jobId)) run.controller.abort(new Error('cancelled by request'));
      this.deps.metrics.running.inc();
      startedAt = performance.now();
      runTrace = new RunTrace(payload, config.workerId);
      outcome = await this.run(job, payload, run, log, runTrace);
    } finally {
      clearInterval(leaseTimer);
      this.active.delete(jobId);
      if (startedAt > 0) this.deps.metrics.running.dec();
    }
    runTrace.end(run.handBack ? 'handed_back' : outcome);

    if (run.handBack) {
      await this.handBack(job, token, payload, log);
      this.deps.metrics.jobs.inc({ status: 'handed_back' });
      throw new WaitingError();
    }
    await this.finish(payload, gated, log);
    this.deps.metrics.jobs.inc({ status: outcome });
    this.deps.metrics.duration.observe({ status: outcome }, (performance.now() - startedAt) / 1000);
    return outcome;
  }

  private async run(
    job: Job,
    payload: JobPayload,
    run: ActiveRun,
    log: Logger,
    runTrace: RunTrace,
  ): Promise<RunOutcome> {
    const { config, metrics } = this.deps;
    let lastProgress = performance.now();
    const sink = new JobEventSink(this.deps.publisher, {
      jobId: payload.jobId,
      workerId: config.workerId,
      seqBase: (Math.max(job.attemptsStarted, 1) - 1) * SEQ_PER_RUN,
      maxLogEvents: config.maxLogEventsPerJob,
      onDroppedLog: () => metrics.droppedLogs.inc(),
      finishing: (event) => this.finishing(event, run),
      onEvent: (event) => {
        metrics.events.inc();
        runTrace.onEvent(event);
        if (event.type !== 'step.finished' && event.type !== 'step.stats') return;
        const now = performance.now();
        if (now - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = now;
        job.updateProgress({ stepId: event.stepId, stats: event.stats }).catch(() => undefined);
      },
    });

    try {
      const flow = await this.flowOf(payload, run.controller.signal);
      const result = await runFlow(flow, {
        registry: this.deps.registry,
        params: payload.params,
        trigger: payload.trigger,
        connections: (name) => this.connection(payload, name),
        signal: run.controller.signal,
        onEvent: sink.sink,
        resume: payload.resume,
        job: { id: payload.jobId, attempt: payload.attempt, parentId: payload.parentJobId },
        shared: this.deps.shared,
      });
      log.info(
        { status: result.status, errorCount: result.errorCount, ms: result.durationMs },
        'job finished',
      );
      return sink.finished?.status ?? result.status;
    } catch (error) {
      // bad params or resume point (thrown before any event), or a flow this worker cannot read
      const failure: RunError = {
        message:
          error instanceof FlowValidationError
            ? error.message
            : `the job could not start: ${errorMessage(error)}`,
        type: error instanceof Error ? error.name : 'Error',
      };
      log.warn({ error: failure.message }, 'job could not start');
      sink.emit({
        type: 'job.finished',
        at: Date.now(),
        status: 'failed',
        error: failure,
        stats: {},
        errorCount: 0,
        durationMs: 0,
      });
      return sink.finished?.status ?? 'failed';
    }
  }

  /**
   * The payload's flow, parsed once per flow version (versions never change): inline in payloads
   * queued before version 2, else from the version store. A version missing there (Redis lost
   * it) is waited for a while: the API's reconciler writes it again within a pass.
   */
  private async flowOf(payload: JobPayload, signal: AbortSignal): Promise<Flow> {
    const cached = this.flows.get(payload.flowVersionId);
    if (cached) return cached;
    let definition: unknown = payload.flow;
    for (let waited = 0; definition === undefined; waited += VERSION_POLL_MS) {
      definition = await this.deps.versions.get(payload.flowVersionId);
      if (definition !== undefined) break;
      if (waited >= VERSION_WAIT_MS || signal.aborted)
        throw new Error(`flow version ${payload.flowVersionId} is not in Redis (waited ${waited / 1000} s)`);
      await new Promise((resolve) => setTimeout(resolve, VERSION_POLL_MS));
    }
    const flow = FlowSchema.parse(definition);
    if (this.flows.size >= FLOW_CACHE_SIZE) this.flows.delete(this.flows.keys().next().value ?? '');
    this.flows.set(payload.flowVersionId, flow);
    return flow;
  }

  /** What job.finished says: nothing for a hand-back (the job runs again), a failure for a lost lease. */
  private finishing(event: JobFinishedEvent, run: ActiveRun): JobFinishedEvent | null {
    if (run.handBack) return null;
    if (run.leaseLost) {
      return {
        ...event,
        status: 'failed',
        error: { message: 'the worker lost the lease on the job (no contact with Redis); it was stopped' },
      };
    }
    return event;
  }

  /** Decrypts a named connection when a step first uses it; never logs its content. */
  private async connection(
    payload: JobPayload,
    name: string,
  ): Promise<{ type: string; [k: string]: unknown }> {
    const token = payload.connections[name];
    if (token === undefined) {
      throw new ConfigError(`connection "${name}" is not defined in the flow's integration`);
    }
    let config: unknown;
    try {
      config = JSON.parse(decryptSecret(token, this.deps.config.secretKey));
    } catch (error) {
      throw new ConfigError(`connection "${name}" cannot be read by this worker: ${errorMessage(error)}`);
    }
    if (
      typeof config !== 'object' ||
      config === null ||
      typeof (config as { type?: unknown }).type !== 'string'
    ) {
      throw new ConfigError(`connection "${name}" has no type`);
    }
    return config as { type: string; [k: string]: unknown };
  }

  /**
   * Renews the slot's lease while the job runs. A lease that cannot be renewed (the gate gave the
   * slot away, or Redis has been unreachable for most of the lease) stops the run, so a flow never
   * runs more jobs than its limit.
   */
  private keepLease(payload: JobPayload, run: ActiveRun, log: Logger): NodeJS.Timeout {
    const { gate, config } = this.deps;
    let lastRenewed = Date.now();
    const every = Math.max(Math.floor(config.leaseMs / 3), 100);
    const lose = (why: string) => this.loseLease(run, log, why);
    return setInterval(() => {
      gate
        .renew(payload.flowId, payload.jobId, config.workerId, config.leaseMs)
        .then((renewed) => {
          if (!renewed) return lose('the slot is no longer held by this worker');
          lastRenewed = Date.now();
          this.deps.onProgress();
        })
        .catch((error: unknown) => {
          log.warn({ error: errorMessage(error) }, 'lease renewal failed');
          if (Date.now() - lastRenewed > config.leaseMs - every) lose('Redis unreachable');
        });
    }, every);
  }

  private loseLease(run: ActiveRun, log: Logger, why: string): void {
    if (run.leaseLost) return;
    run.leaseLost = true;
    this.deps.metrics.leaseLost.inc();
    log.error({ why }, 'lease lost: stopping the job');
    run.controller.abort(new Error('lease lost'));
  }

  private rememberCancel(jobId: string): void {
    const now = Date.now();
    for (const [id, until] of this.earlyCancels) {
      if (until > now && this.earlyCancels.size < EARLY_CANCEL_MAX) break;
      this.earlyCancels.delete(id);
    }
    this.earlyCancels.set(jobId, now + EARLY_CANCEL_MS);
  }

  /** The job's events are in the stream; now free its slot (which enqueues the next waiting job). */
  private async finish(payload: JobPayload, gated: boolean, log: Logger): Promise<void> {
    await this.retry(() => this.deps.publisher.written(), log, 'writing events');
    if (!gated) return;
    // the API also frees the slot when it reads job.finished: this is the fast path
    await this.retry(
      () => this.deps.dispatcher.release(payload.flowId, payload.jobId),
      log,
      'freeing the slot',
    );
  }

  private async handBack(
    job: Job,
    token: string | undefined,
    payload: JobPayload,
    log: Logger,
  ): Promise<void> {
    log.warn('worker shutting down: handing the job back to the queue');
    this.deps.publisher.publish({
      jobId: payload.jobId,
      seq: Math.max(job.attemptsStarted, 1) * SEQ_PER_RUN - 1,
      event: {
        type: 'step.log',
        at: Date.now(),
        level: 'warn',
        message: `worker ${this.deps.config.workerId} shut down before the job finished: it starts again on another worker`,
      },
    });
    await this.retry(() => this.deps.publisher.flush(), log, 'writing events');
    if (payloadIsGated(payload))
      await this.deps.gate.handBack(payload.flowId, payload.jobId, this.deps.config.workerId);
    await job.moveToWait(token);
  }

  /** A payload no worker can run: report it failed so it does not stay queued. */
  private async refuseBadPayload(job: Job, message: string): Promise<void> {
    const jobId = job.id ?? '';
    this.deps.logger.error({ jobId, error: message }, 'job payload refused');
    const sink = new JobEventSink(this.deps.publisher, {
      jobId,
      workerId: this.deps.config.workerId,
      seqBase: (Math.max(job.attemptsStarted, 1) - 1) * SEQ_PER_RUN,
      maxLogEvents: 0,
    });
    sink.emit({
      type: 'job.finished',
      at: Date.now(),
      status: 'failed',
      error: { message, type: 'JobPayloadError' },
      stats: {},
      errorCount: 0,
      durationMs: 0,
    });
    await this.deps.publisher.flush();
    const flowId = (job.data as { flowId?: unknown } | undefined)?.flowId;
    if (typeof flowId === 'string') await this.deps.dispatcher.release(flowId, jobId);
    this.deps.metrics.jobs.inc({ status: 'failed' });
  }

  private async retry(action: () => Promise<unknown>, log: Logger, what: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await action();
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        log.warn({ error: errorMessage(error), attempt }, `${what} failed; retrying`);
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}
