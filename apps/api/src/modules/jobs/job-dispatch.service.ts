import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import { resolveParams, type Flow } from '@junction/flow';
import type { Admission, RunConcurrency } from '@junction/jobs';
import type { JobPayload, JobTrigger } from '@junction/protocol';
import { errorBody, invalidRequest } from '../../common/error-body.ts';
import { FlowsService } from '../flows/flows.service.ts';
import { JobPayloadsService, type RunnableVersion } from './job-payloads.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository, type JobRow, type NewJob } from './jobs.repository.ts';
import { KeyedMutex } from './keyed-mutex.ts';

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
  /** Jobs of a flow with a limit are created one at a time, so they run in the order requested. */
  private readonly admissionOrder = new KeyedMutex();
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

  /** POST /flows/{id}/run: validates the params against the flow's types, creates and admits the job. */
  async run(flowId: string, params: Record<string, unknown>, trigger: JobTrigger): Promise<CreatedJob> {
    // the version this process last validated for the flow; the insert checks it is still current
    const known = this.current.get(flowId);
    if (known) {
      const created = await this.runVersion(known, params, trigger, true);
      if (created) return created;
      this.current.delete(flowId);
    }
    const runnable = await this.flows.getRunnable(flowId);
    const version: RunnableVersion = {
      versionId: runnable.versionId,
      flowId,
      integrationId: runnable.integrationId,
      definition: runnable.definition,
    };
    if (this.current.size >= 1_000) this.current.delete(this.current.keys().next().value ?? '');
    this.current.set(flowId, version);
    this.payloads.remember(version);
    return (await this.runVersion(version, params, trigger, false)) as CreatedJob;
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
    return this.create(version, {
      id: randomUUID(),
      flowId: parent.flow_id,
      flowVersionId: parent.flow_version_id,
      params: parent.params,
      trigger: parent.trigger,
      parentJobId: parent.id,
      attempt: parent.attempt + 1,
    });
  }

  /**
   * Creates the row (the caller may add writes to the same transaction with `extra`), then admits
   * the job on the gate. A flow with onBusy skip that is busy gets its row removed and a 409.
   */
  async create(
    version: RunnableVersion,
    job: NewJob,
    options: {
      resumeRecords?: Array<Record<string, unknown>>;
      extra?: (tx: EntityManager, row: JobRow) => Promise<void>;
      /** Insert only while the version is the flow's current one; else StaleVersionError. */
      onlyIfCurrent?: boolean;
    } = {},
  ): Promise<CreatedJob> {
    const concurrency = concurrencyOf(version.definition);
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
    const insertAndAdmit = async (): Promise<CreatedJob> => {
      const row = options.extra
        ? await this.repo.db.transaction(async (tx) => {
            const inserted = await this.repo.insert(job, tx, options.onlyIfCurrent);
            if (inserted) await options.extra?.(tx, inserted);
            return inserted;
          })
        : await this.repo.insert(job, this.repo.db, options.onlyIfCurrent);
      if (!row) throw new StaleVersionError();
      return { job: row, admission: await this.admit(row, payload, concurrency) };
    };
    const created =
      concurrency.max === 'unlimited'
        ? await insertAndAdmit()
        : await this.admissionOrder.run(version.flowId, insertAndAdmit);
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
    await this.redis.dispatcher.enqueue(await this.payloads.forJob(row));
  }
}

/** The flow got a new version (or was deleted) since this process validated the one it tried. */
class StaleVersionError extends Error {}

export function concurrencyOf(flow: Flow): RunConcurrency {
  return { max: flow.concurrency.max, onBusy: flow.concurrency.onBusy };
}
