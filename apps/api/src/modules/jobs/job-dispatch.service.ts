import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import { resolveParams, type Flow } from '@junction/flow';
import type { Admission, RunConcurrency } from '@junction/jobs';
import type { JobPayload, JobTrigger } from '@junction/protocol';
import { SpanKind, SpanStatusCode, trace } from '@junction/telemetry';
import { errorBody, invalidRequest } from '../../common/error-body.ts';
import { FlowsService } from '../flows/flows.service.ts';
import { JobPayloadsService, type RunnableVersion } from './job-payloads.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository, type JobRow, type NewJob } from './jobs.repository.ts';
import { BatchQueue } from '../../common/batch-queue.ts';

interface PendingCreate {
  job: NewJob;
  payload: JobPayload;
  concurrency: RunConcurrency;
  onlyIfCurrent: boolean;
}

export interface CreateOptions {
  /** Records a retry-errors job feeds back in (its payload carries them). */
  resumeRecords?: Array<Record<string, unknown>>;
  /** More writes in the transaction that inserts the row. */
  extra?: (tx: EntityManager, row: JobRow) => Promise<void>;
  /** Insert only while the version is the flow's current one; else StaleVersionError. */
  onlyIfCurrent?: boolean;
}

export interface CreatedJob {
  job: JobRow;
  admission: Admission | undefined;
}

/**
 * Creates jobs and puts them through their flow's concurrency gate. The job row is committed
 * first (the one synchronous write of a run); only then is the job admitted and enqueued, so a
 * worker never sees a job PostgreSQL does not know. A failure after the commit is repaired by
 * the reconciler, which finds the job queued and not in Redis.
 */
@Injectable()
export class JobDispatchService {
  private readonly flows: FlowsService;
  private readonly payloads: JobPayloadsService;
  private readonly repo: JobsRepository;
  private readonly redis: JobsRedisService;
  private readonly logger: PinoLogger;
  /** Jobs of concurrent requests are inserted together, and admitted in the order requested. */
  private readonly inserts = new BatchQueue<PendingCreate, CreatedJob | undefined>((batch) =>
    this.insertAndAdmit(batch),
  );
  /**
   * Flow id → its current version as last validated (by FlowsService.getRunnable) in this process.
   * Versions never change and the connectors are fixed for the life of the process, so a run only
   * re-validates when the flow got a new version.
   */
  private readonly current = new Map<string, RunnableVersion>();

  constructor(
    flows: FlowsService,
    payloads: JobPayloadsService,
    repo: JobsRepository,
    redis: JobsRedisService,
    logger: PinoLogger,
  ) {
    this.flows = flows;
    this.payloads = payloads;
    this.repo = repo;
    this.redis = redis;
    this.logger = logger;
    this.logger.setContext('jobs');
  }

  /**
   * POST /flows/{id}/run: validates the params against the flow's types, creates and admits the
   * job. A disabled flow does not run (409); the insert itself checks the flow is still enabled
   * and at the version validated, so a disable or a new version is never raced past.
   */
  async run(flowId: string, params: Record<string, unknown>, trigger: JobTrigger): Promise<CreatedJob> {
    // the version this process last validated for the flow; the insert checks it is still current
    const known = this.current.get(flowId);
    if (known) {
      const created = await this.runVersion(known, params, trigger, true);
      if (created) return created;
      this.current.delete(flowId);
    }
    const runnable = await this.flows.getRunnable(flowId);
    if (!runnable.enabled) {
      this.current.delete(flowId);
      throw new ConflictException(
        errorBody(
          409,
          `flow "${runnable.flow.name}" is disabled: enable it (POST /api/v1/flows/${flowId}/enable) to run it`,
        ),
      );
    }
    const version: RunnableVersion = {
      versionId: runnable.versionId,
      flowId,
      integrationId: runnable.integrationId,
      definition: runnable.definition,
    };
    if (this.current.size >= 1_000) this.current.delete(this.current.keys().next().value ?? '');
    this.current.set(flowId, version);
    this.payloads.remember(version);
    const created = await this.runVersion(version, params, trigger, true);
    if (created) return created;
    this.current.delete(flowId);
    throw new ConflictException(
      errorBody(409, 'the flow was disabled or saved again while the run was requested; try again'),
    );
  }

  private async runVersion(
    version: RunnableVersion,
    params: Record<string, unknown>,
    trigger: JobTrigger,
    onlyIfCurrent: boolean,
  ): Promise<CreatedJob | undefined> {
    const { problems } = resolveParams(version.definition.params, params);
    if (problems.length > 0) throw invalidRequest('invalid params', problems);
    try {
      return await this.create(
        version,
        { id: randomUUID(), flowId: version.flowId, flowVersionId: version.versionId, params, trigger },
        { onlyIfCurrent },
      );
    } catch (error) {
      if (error instanceof StaleVersionError) return undefined;
      throw error;
    }
  }

  /** A new job of the same flow version and params as `parent`. */
  async retry(parent: JobRow): Promise<CreatedJob> {
    const version = await this.payloads.version(parent.flow_version_id);
    return this.create(version, childOf(parent));
  }

  /**
   * Creates the row (the caller may add writes to the same transaction with `extra`), then admits
   * the job on the gate. A flow with onBusy skip that is busy gets its row removed and a 409.
   */
  async create(version: RunnableVersion, job: NewJob, options: CreateOptions = {}): Promise<CreatedJob> {
    // the trace of a job starts here; its payload carries the context to the worker's spans
    return tracer.startActiveSpan(
      'junction.job.create',
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'junction.flow.id': version.flowId,
          'junction.flow.version_id': version.versionId,
          'junction.job.id': job.id,
        },
      },
      async (span) => {
        try {
          const created = await this.createTraced(version, job, options);
          span.setAttribute('junction.job.admission', created.admission?.status ?? 'deferred');
          return created;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  private async createTraced(
    version: RunnableVersion,
    job: NewJob,
    options: CreateOptions,
  ): Promise<CreatedJob> {
    const concurrency = concurrencyOf(version.definition);
    // before the insert: nothing may be awaited between a batch's commit and its admissions,
    // which must leave in the order the jobs were committed
    await this.storeVersion(version).catch((error: unknown) =>
      this.logger.warn(
        { flowVersionId: version.versionId, error: String(error) },
        'could not store the flow version; the reconciler will',
      ),
    );
    // the payload is built before the row exists: a missing connection is a 400, not a dead job
    const payload = await this.payloads.build({
      jobId: job.id,
      version,
      params: job.params,
      trigger: job.trigger,
      attempt: job.attempt ?? 1,
      parentJobId: job.parentJobId,
      resume: job.resume ? { stepId: job.resume.stepId, records: options.resumeRecords ?? [] } : undefined,
    });
    const { extra } = options;
    const created = extra
      ? await this.insertWithExtra(job, payload, concurrency, extra)
      : await this.inserts.submit({
          job,
          payload,
          concurrency,
          onlyIfCurrent: options.onlyIfCurrent ?? false,
        });
    if (!created) throw new StaleVersionError();
    if (created.admission?.status === 'busy') {
      await this.repo.delete(created.job.id);
      throw new ConflictException({
        ...errorBody(
          409,
          `flow is busy: job ${created.admission.runningJobId} is running and onBusy is "skip"`,
        ),
        runningJobId: created.admission.runningJobId,
      });
    }
    return created;
  }

  /**
   * One INSERT for the jobs of concurrent requests (one commit instead of one each), then their
   * admissions, sent in request order on one pipelined connection: the gate sees the requests in
   * the order they came, and the next batch's admissions cannot overtake them.
   */
  private async insertAndAdmit(
    batch: PendingCreate[],
  ): Promise<Array<Promise<CreatedJob | undefined> | undefined>> {
    let rows: Map<string, JobRow>;
    try {
      rows = await this.repo.insertMany(batch);
    } catch (error) {
      if (batch.length === 1) throw error;
      // one bad job (its flow deleted meanwhile, say) must not fail the others: one at a time
      rows = new Map();
      const failed = new Map<string, Error>();
      for (const item of batch) {
        try {
          for (const [id, row] of await this.repo.insertMany([item])) rows.set(id, row);
        } catch (itemError) {
          failed.set(item.job.id, itemError instanceof Error ? itemError : new Error(String(itemError)));
        }
      }
      return batch.map((item) => {
        const itemError = failed.get(item.job.id);
        if (itemError) return Promise.reject(itemError);
        return this.admitInserted(rows.get(item.job.id), item);
      });
    }
    return batch.map((item) => this.admitInserted(rows.get(item.job.id), item));
  }

  private admitInserted(row: JobRow | undefined, item: PendingCreate): Promise<CreatedJob> | undefined {
    if (!row) return undefined;
    return this.admit(row, item.payload, item.concurrency).then((admission) => ({
      job: row,
      admission,
    }));
  }

  private async insertWithExtra(
    job: NewJob,
    payload: JobPayload,
    concurrency: RunConcurrency,
    extra: (tx: EntityManager, row: JobRow) => Promise<void>,
  ): Promise<CreatedJob | undefined> {
    const row = await this.repo.db.transaction(async (tx) => {
      const inserted = await this.repo.insert(job, tx);
      if (inserted) await extra(tx, inserted);
      return inserted;
    });
    return row ? { job: row, admission: await this.admit(row, payload, concurrency) } : undefined;
  }

  /** Admits a committed job; Redis trouble leaves it queued for the reconciler (or refuses a skip flow). */
  async admit(row: JobRow, payload: JobPayload, concurrency: RunConcurrency): Promise<Admission | undefined> {
    try {
      const admission = await this.redis.dispatcher.admit(payload, concurrency);
      if (admission.status === 'waiting') await this.repo.setWaiting([row.id], true);
      return admission;
    } catch (error) {
      this.logger.warn(
        { jobId: row.id, error: String(error) },
        'could not admit the job now; the reconciler will',
      );
      if (concurrency.onBusy === 'skip') {
        await this.repo.delete(row.id);
        throw new ServiceUnavailableException(errorBody(503, 'the job queue is unavailable; try again'));
      }
      return undefined;
    }
  }

  /** Admits (again) a stored job, e.g. one the reconciler found queued but unknown to Redis. */
  async readmit(row: JobRow): Promise<Admission> {
    const payload = await this.payloads.forJob(row);
    const version = await this.payloads.version(row.flow_version_id);
    await this.storeVersion(version);
    const admission = await this.redis.dispatcher.admit(payload, {
      ...concurrencyOf(version.definition),
      // the job was accepted already: it waits its turn rather than being dropped
      onBusy: 'queue',
    });
    if (admission.status === 'waiting') await this.repo.setWaiting([row.id], true);
    return admission;
  }

  /** Puts an admitted job (back) on the run queue. */
  async enqueue(row: JobRow): Promise<void> {
    await this.storeVersion(await this.payloads.version(row.flow_version_id));
    await this.redis.dispatcher.enqueue(await this.payloads.forJob(row));
  }

  /** The job's flow version where workers read it (once per version and process). */
  private async storeVersion(version: RunnableVersion): Promise<void> {
    await this.redis.versions.put(version.versionId, version.definition);
  }
}

const tracer = trace.getTracer('junction-api');

/** The flow got a new version (or was deleted) since this process validated the one it tried. */
class StaleVersionError extends Error {}

/** A new job of `parent`'s flow version, params and trigger: its next attempt. */
export function childOf(parent: JobRow): NewJob {
  return {
    id: randomUUID(),
    flowId: parent.flow_id,
    flowVersionId: parent.flow_version_id,
    params: parent.params,
    trigger: parent.trigger,
    parentJobId: parent.id,
    attempt: parent.attempt + 1,
  };
}

export function concurrencyOf(flow: Flow): RunConcurrency {
  return { max: flow.concurrency.max, onBusy: flow.concurrency.onBusy };
}
