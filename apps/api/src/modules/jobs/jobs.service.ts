import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { publishCancel, type GateState } from '@junction/jobs';
import { isTerminal } from '@junction/protocol';
import { errorBody, invalidRequest } from '../../common/error-body.ts';
import type {
  JobDto,
  JobErrorDto,
  JobErrorPageDto,
  JobLogPageDto,
  JobPageDto,
  RetryErrorsResultDto,
} from './dto/job.dto.ts';
import type { ListJobErrorsQuery, ListJobLogsQuery, ListJobsQuery } from './dto/job-queries.ts';
import type { JobErrorStatus } from './job-error.entity.ts';
import { JobDispatchService, childOf } from './job-dispatch.service.ts';
import { JobPayloadsService, type RunnableVersion } from './job-payloads.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository, isUuid, type ErrorRow, type JobRow } from './jobs.repository.ts';

const DEFAULT_LIMIT = 50;
/** Records fed back by one retry-errors job; more make several jobs. */
const RECORDS_PER_RETRY_JOB = 5_000;

/** Reading jobs (with their live place in line) and acting on them: cancel, retry, retry errors. */
@Injectable()
export class JobsService {
  private readonly repo: JobsRepository;
  private readonly redis: JobsRedisService;
  private readonly dispatch: JobDispatchService;
  private readonly payloads: JobPayloadsService;
  private readonly logger: PinoLogger;

  constructor(
    repo: JobsRepository,
    redis: JobsRedisService,
    dispatch: JobDispatchService,
    payloads: JobPayloadsService,
    logger: PinoLogger,
  ) {
    this.repo = repo;
    this.redis = redis;
    this.dispatch = dispatch;
    this.payloads = payloads;
    this.logger = logger;
    this.logger.setContext('jobs');
  }

  async get(id: string): Promise<JobDto> {
    const row = await this.find(id);
    return (await this.withGate([row]))[0];
  }

  async list(query: ListJobsQuery): Promise<JobPageDto> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.list({
      flowId: query.flowId,
      parentJobId: query.parentJobId,
      status: query.status,
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
      beforeSeq: decodeSeqCursor(query.cursor),
      limit,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: await this.withGate(page),
      nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null,
    };
  }

  async logs(id: string, query: ListJobLogsQuery): Promise<JobLogPageDto> {
    await this.find(id);
    const limit = query.limit ?? 500;
    const rows = await this.repo.logs(id, decodeSeqCursor(query.cursor), limit);
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        seq: Number(r.seq),
        at: r.at.toISOString(),
        level: r.level,
        stepId: r.step_id,
        message: r.message,
        ...(r.fields ? { fields: r.fields } : {}),
      })),
      nextCursor: rows.length > limit && page.length > 0 ? encodeSeqCursor(page[page.length - 1].seq) : null,
    };
  }

  async errors(id: string, query: ListJobErrorsQuery): Promise<JobErrorPageDto> {
    await this.find(id);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await this.repo.errors(id, {
      status: query.status,
      afterSeq: decodeSeqCursor(query.cursor),
      limit,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map(toErrorDto),
      nextCursor: rows.length > limit && page.length > 0 ? encodeSeqCursor(page[page.length - 1].seq) : null,
    };
  }

  async setErrorStatus(id: string, errorId: string, status: JobErrorStatus): Promise<JobErrorDto> {
    await this.find(id);
    const error = await this.repo.findError(id, errorId);
    if (!error) throw new NotFoundException(errorBody(404, `job ${id} has no error ${errorId}`));
    return toErrorDto(await this.repo.setErrorStatus(errorId, status));
  }

  /**
   * A job that has not started leaves the queue and is cancelled at once; a running one becomes
   * `cancelling` and its worker is told to abort (it reports `cancelled` when it has). A job of an
   * unlimited flow that the queue does not know (yet) is `cancelling` too: the reconciler
   * settles it, since its enqueue may still be on the way.
   */
  async cancel(id: string): Promise<JobDto> {
    const row = await this.find(id);
    if (isTerminal(row.status))
      throw new ConflictException(errorBody(409, `job ${id} is already ${row.status}`));
    const gated = await this.payloads.gated(row.flow_version_id);
    const onGate = await this.redis.dispatcher.cancel(row.flow_id, id, gated);
    let updated: JobRow | undefined;
    if (onGate === 'removed' || (onGate === 'absent' && gated)) {
      if (onGate === 'absent') await this.redis.gate.release(row.flow_id, id); // never admitted later
      updated = await this.repo.transition(id, 'cancelled', {}, true);
    } else {
      updated = await this.repo.transition(id, 'cancelling');
    }
    // tell the worker in every case: one may hold the job between the queue and the gate
    await publishCancel(this.redis.main, this.redis.names.cancelChannel, id);
    this.logger.info({ jobId: id, gate: onGate }, 'cancel requested');
    return (await this.withGate([updated ?? (await this.find(id))]))[0];
  }

  /** A new job of the same flow version and params, with parentJobId. */
  async retry(id: string): Promise<JobDto> {
    const parent = await this.find(id);
    // two runs of the same job at once would only be a duplicate
    if (!isTerminal(parent.status))
      throw new ConflictException(
        errorBody(409, `job ${id} is ${parent.status}: retry it when it has finished (or cancel it first)`),
      );
    const { job } = await this.dispatch.retry(parent);
    return (await this.withGate([job]))[0];
  }

  /**
   * Child jobs that feed the chosen failed records (default: the open ones not retried yet) into
   * the step they failed in and run the steps after it: one job per step (and per 5,000 records).
   */
  async retryErrors(id: string, errorIds: readonly string[] | undefined): Promise<RetryErrorsResultDto> {
    const parent = await this.find(id);
    if (!isTerminal(parent.status))
      throw new ConflictException(
        errorBody(409, `job ${id} is ${parent.status}: retry its errors when it has finished`),
      );
    const version = await this.payloads.version(parent.flow_version_id);
    const jobs: JobRow[] = [];
    if (errorIds !== undefined) {
      // the chosen ones (at most 100,000 ids in a body), checked before anything is created
      const errors = await this.repo.db.transaction((tx) => this.repo.errorsToRetry(id, errorIds, tx));
      const byId = new Map(errors.map((e) => [e.id, e]));
      const problems = errorIds
        .map((e, i) =>
          !byId.has(e)
            ? { path: `errorIds[${i}]`, message: `job ${id} has no error ${e}` }
            : byId.get(e)?.status !== 'open'
              ? { path: `errorIds[${i}]`, message: `error ${e} is not open` }
              : undefined,
        )
        .filter((p) => p !== undefined);
      if (problems.length > 0) throw invalidRequest('cannot retry these errors', problems);
      for (const group of groupForRetry(errors))
        jobs.push(await this.retryGroup(parent, version, group, true));
    } else {
      // every open error not retried yet, a page at a time: memory stays bounded however many
      // there are (each page's errors are claimed by their child jobs, so the next page moves on)
      for (;;) {
        const page = await this.repo.openErrorsPage(id, RECORDS_PER_RETRY_JOB);
        if (page.length === 0) break;
        for (const group of groupForRetry(page))
          jobs.push(await this.retryGroup(parent, version, group, false));
      }
    }
    if (jobs.length === 0)
      throw new BadRequestException(errorBody(400, `job ${id} has no open errors to retry`));
    return { jobs: await this.withGate(jobs) };
  }

  /** One child job that feeds `group` (errors of one step) back into that step. */
  private async retryGroup(
    parent: JobRow,
    version: RunnableVersion,
    group: readonly ErrorRow[],
    chosen: boolean,
  ): Promise<JobRow> {
    const ids = group.map((e) => e.id);
    const { job } = await this.dispatch.create(
      version,
      { ...childOf(parent), resume: { stepId: group[0].step_id, sourceJobId: parent.id } },
      {
        resumeRecords: group.map((e) => e.record),
        // claimed in the job's own transaction: two requests cannot retry the same error twice
        extra: async (tx, row) => {
          const claimed = await tx.query<[unknown[], number]>(
            `UPDATE job_errors SET retried_by_job_id = $2
              WHERE id = ANY($1::uuid[]) AND status = 'open' AND (retried_by_job_id IS NULL OR $3)
              RETURNING id`,
            [ids, row.id, chosen],
          );
          if (claimed[1] !== ids.length)
            throw new ConflictException(
              errorBody(409, 'some of these errors are being retried by another request'),
            );
        },
      },
    );
    return job;
  }

  async find(id: string): Promise<JobRow> {
    const row = isUuid(id) ? await this.repo.find(id) : undefined;
    if (!row) throw new NotFoundException(errorBody(404, `job ${id} not found`));
    return row;
  }

  /** Adds the live place in line of queued jobs, read from the concurrency gate. */
  async withGate(rows: readonly JobRow[]): Promise<JobDto[]> {
    const queued = rows.filter((r) => r.status === 'queued');
    const states = new Map<string, GateState>();
    const byFlow = Map.groupBy(queued, (r) => r.flow_id);
    try {
      for (const [flowId, flowRows] of byFlow) {
        const ids = flowRows.map((r) => r.id);
        for (const [id, state] of await this.redis.gate.inspect(flowId, ids)) states.set(id, state);
      }
    } catch (error) {
      // Redis unreachable: the stored flag is the best answer
      this.logger.warn({ error: String(error) }, 'cannot read the concurrency gate');
    }
    return rows.map((r) => toJobDto(r, states.get(r.id)));
  }
}

function groupForRetry(errors: readonly ErrorRow[]): ErrorRow[][] {
  const byStep = Map.groupBy(errors, (e) => e.step_id);
  const groups: ErrorRow[][] = [];
  for (const list of byStep.values()) {
    for (let i = 0; i < list.length; i += RECORDS_PER_RETRY_JOB)
      groups.push(list.slice(i, i + RECORDS_PER_RETRY_JOB));
  }
  return groups;
}

export function toJobDto(r: JobRow, gate?: GateState): JobDto {
  const waiting = r.status === 'queued' && (gate ? gate.state === 'waiting' : r.waiting_for_slot);
  return {
    id: r.id,
    flowId: r.flow_id,
    flowVersionId: r.flow_version_id,
    status: r.status,
    params: r.params,
    trigger: r.trigger,
    parentJobId: r.parent_job_id,
    resume: r.resume,
    attempt: r.attempt,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    stats: r.stats,
    errorCount: r.error_count,
    error: r.error,
    output: r.output ?? null,
    waitingForSlot: waiting,
    position: waiting && gate?.state === 'waiting' ? gate.position : null,
    workerId: r.worker_id,
  };
}

function toErrorDto(e: ErrorRow): JobErrorDto {
  return {
    id: e.id,
    jobId: e.job_id,
    stepId: e.step_id,
    message: e.message,
    record: e.record,
    attempt: e.attempt,
    retryable: e.retryable,
    status: e.status,
    retriedByJobId: e.retried_by_job_id,
    createdAt: e.created_at.toISOString(),
  };
}

export function encodeSeqCursor(seq: string): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeSeqCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s:(\d{1,19})$/.exec(text);
  if (!match)
    throw invalidRequest('invalid request', [
      { path: 'cursor', message: 'not a cursor from this API (use nextCursor from the previous page)' },
    ]);
  return match[1];
}
