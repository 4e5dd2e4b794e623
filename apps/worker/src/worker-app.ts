import type { Server } from 'node:http';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { loadConnectorRegistry } from '@junction/connectors';
import { SharedResources } from '@junction/engine';
import { errorMessage } from '@junction/flow';
import {
  CancelListener,
  ConcurrencyGate,
  EventPublisher,
  FlowVersionStore,
  RunDispatcher,
  WorkerHeartbeat,
  closeRedis,
  createRedis,
} from '@junction/jobs';
import { JOB_NAMES, QUEUES, redisNames } from '@junction/protocol';
import { startHealthServer } from './health-server.ts';
import { RunProcessor } from './run-processor.ts';
import { TrackedWorker } from './tracked-worker.ts';
import type { WorkerConfig } from './worker-config.ts';
import { WorkerMetrics } from './worker-metrics.ts';

/** BullMQ lock on an active job; the stalled check fails jobs whose worker died (maxStalledCount 0). */
const LOCK_DURATION_MS = 30_000;

/**
 * The worker process: takes run jobs from the queue, runs them, streams their events, and stops
 * gracefully. Holds no database credentials: Redis (and whatever the connectors reach) only.
 */
export class WorkerApp {
  private readonly config: WorkerConfig;
  private readonly logger: Logger;
  private readonly metrics = new WorkerMetrics();
  private readonly connections: Redis[] = [];
  private worker: TrackedWorker | undefined;
  private processor: RunProcessor | undefined;
  private publisher: EventPublisher | undefined;
  private dispatcher: RunDispatcher | undefined;
  private cancelListener: CancelListener | undefined;
  private heartbeat: WorkerHeartbeat | undefined;
  private shared: SharedResources | undefined;
  private server: Server | undefined;
  private lastProgressAt = 0;
  private stopping: Promise<void> | undefined;

  constructor(config: WorkerConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
  }

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.config.port;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const names = redisNames(config.redisPrefix);
    const registry = await loadConnectorRegistry();
    this.shared = new SharedResources({
      onCloseError: (key, error) =>
        logger.warn({ key, error: errorMessage(error) }, 'closing a shared client failed'),
    });

    // the gate calls and event writes of all running jobs share it: batched writes
    const main = this.connect('main', true);
    const bull = this.connect('bull', true);
    const subscriber = this.connect('cancel');
    const gate = new ConcurrencyGate(main, { prefix: names.gatePrefix });
    this.dispatcher = new RunDispatcher(main, names, gate, {
      onEnqueueError: (error, jobId) =>
        logger.error(
          { jobId, error: errorMessage(error) },
          'could not enqueue a promoted job (the API reconciler will)',
        ),
    });
    this.publisher = new EventPublisher(main, names.eventStream, {
      onError: (error) => logger.error({ error: errorMessage(error) }, 'writing run events failed'),
    });
    const processor = new RunProcessor({
      gate,
      dispatcher: this.dispatcher,
      publisher: this.publisher,
      versions: new FlowVersionStore(main, { prefix: names.flowVersionPrefix }),
      registry,
      shared: this.shared,
      config,
      logger,
      metrics: this.metrics,
      onProgress: () => {
        this.lastProgressAt = Date.now();
      },
    });
    this.processor = processor;

    // the liveness of the jobs that skip the gate: the API fails them once this key expires. Not
    // a sign of readiness: it proves the main connection works, not that the worker consumes
    this.heartbeat = new WorkerHeartbeat(main, {
      prefix: names.workerHeartbeatPrefix,
      workerId: config.workerId,
      ttlMs: config.leaseMs,
      onError: (error) => logger.warn({ error: errorMessage(error) }, 'heartbeat failed'),
    });
    await this.heartbeat.start();

    this.cancelListener = new CancelListener(subscriber, names.cancelChannel, (jobId) =>
      processor.cancel(jobId),
    );
    await this.cancelListener.start();

    const worker = new TrackedWorker(
      QUEUES.runs,
      async (job, token) => {
        // one handler per job name: anything else on this queue is a deployment mistake
        if (job.name !== JOB_NAMES.runFlow) throw new UnrecoverableError(`no handler for job "${job.name}"`);
        return processor.process(job, token);
      },
      {
        connection: bull,
        prefix: names.bullPrefix,
        concurrency: config.concurrency,
        name: config.workerId,
        autorun: false,
        lockDuration: LOCK_DURATION_MS,
        stalledInterval: 15_000,
        // a job whose worker died is not re-run behind the API's back: the reconciler decides
        maxStalledCount: 0,
        drainDelay: 5,
      },
    );
    this.worker = worker;
    worker.on('error', (error) => logger.error({ error: errorMessage(error) }, 'worker error'));
    worker.on('failed', (job, error) =>
      logger.warn({ jobId: job?.id, error: errorMessage(error) }, 'queue job failed'),
    );
    worker.on('lockRenewalFailed', (jobIds) => processor.locksLost(jobIds));
    worker.on('locksRenewed', () => {
      this.lastProgressAt = Date.now();
    });
    worker.on('ready', () => {
      this.lastProgressAt = Date.now();
    });
    worker
      .run()
      .catch((error: unknown) => logger.fatal({ error: errorMessage(error) }, 'worker loop stopped'));

    this.server = await startHealthServer(config.port, {
      health: () => this.health(),
      metrics: this.metrics.registry,
    });
    logger.info(
      { port: this.port, concurrency: config.concurrency, queue: QUEUES.runs, prefix: config.redisPrefix },
      'worker started',
    );
  }

  /** Ready while the worker keeps completing round trips to Redis (fetches, lock or lease renewals). */
  health(): { ready: boolean; details: Record<string, unknown> } {
    const last = Math.max(this.worker?.lastFetchAt ?? 0, this.lastProgressAt);
    const ageMs = last === 0 ? null : Date.now() - last;
    const ready = this.stopping === undefined && ageMs !== null && ageMs < this.config.readyStaleMs;
    this.metrics.ready.set(ready ? 1 : 0);
    return {
      ready,
      details: {
        workerId: this.config.workerId,
        running: this.processor?.runningCount ?? 0,
        lastRedisProgressMsAgo: ageMs,
        stopping: this.stopping !== undefined,
      },
    };
  }

  /**
   * Stops taking jobs, lets running ones finish within the grace period, then aborts the rest and
   * hands them back to the queue; closes shared clients and connections.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { logger } = this;
    logger.info(
      { running: this.processor?.runningCount ?? 0, graceMs: this.config.shutdownGraceMs },
      'shutting down',
    );
    const grace = setTimeout(() => {
      const n = this.processor?.handBackAll() ?? 0;
      if (n > 0) logger.warn({ jobs: n }, 'grace period over: handing running jobs back');
    }, this.config.shutdownGraceMs);
    try {
      await this.worker?.close();
    } catch (error) {
      logger.error({ error: errorMessage(error) }, 'closing the queue worker failed');
    } finally {
      clearTimeout(grace);
    }
    await this.cancelListener?.stop();
    await this.heartbeat?.stop();
    await this.publisher?.close().catch(() => undefined);
    await this.dispatcher?.close().catch(() => undefined);
    await this.shared?.closeAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.all(this.connections.map((c) => closeRedis(c)));
    logger.info('worker stopped');
  }

  private connect(role: string, autoPipelining = false): Redis {
    const redis = createRedis(this.config.redisUrl, {
      name: `junction-worker:${this.config.workerId}:${role}`,
      autoPipelining,
    });
    redis.on('error', (error: Error) =>
      this.logger.warn({ role, error: error.message }, 'redis connection error'),
    );
    this.connections.push(redis);
    return redis;
  }
}
