import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import {
  reachableSourcesOf,
  sourcesOf,
  type JobStatus,
  type RunError,
  type StepStats,
} from '@junction/protocol';
import { preparedQuery } from '../../database/prepared-query.ts';
import type { JobErrorStatus } from './job-error.entity.ts';
import type { JobResumePoint, JobTriggerInfo } from './job.entity.ts';

/** A job row as the jobs module reads it (raw SQL: the hot paths skip the ORM). */
export interface JobInfo {
  status: JobStatus;
  flowId: string;
  flowVersionId: string;
}

export interface JobRow {
  id: string;
  seq: string;
  flow_id: string;
  flow_version_id: string;
  status: JobStatus;
  params: Record<string, unknown>;
  trigger: JobTriggerInfo;
  parent_job_id: string | null;
  resume: JobResumePoint | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  stats: Record<string, StepStats>;
  error_count: number;
  error: RunError | null;
  output: unknown;
  waiting_for_slot: boolean;
  attempt: number;
  worker_id: string | null;
  lease_until: Date | null;
}

export interface NewJob {
  id: string;
  flowId: string;
  flowVersionId: string;
  params: Record<string, unknown>;
  trigger: JobTriggerInfo;
  parentJobId?: string | null;
  resume?: JobResumePoint | null;
  attempt?: number;
}

export interface JobFilter {
  flowId?: string;
  parentJobId?: string;
  status?: JobStatus[];
  from?: Date;
  to?: Date;
  /** seq of the last job of the previous page (newest first). */
  beforeSeq?: string;
  limit: number;
}

export interface LogRow {
  seq: string;
  at: Date;
  level: string;
  step_id: string | null;
  message: string;
  fields: Record<string, unknown> | null;
}

export interface ErrorRow {
  id: string;
  job_id: string;
  seq: string;
  step_id: string;
  message: string;
  record: Record<string, unknown>;
  attempt: number;
  retryable: boolean;
  status: JobErrorStatus;
  retried_by_job_id: string | null;
  created_at: Date;
}

/** A stored event for SSE replay: logs, errors and the other events share one numbering per job. */
export interface StoredEventRow {
  seq: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
}

export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running', 'cancelling'];
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** SQL of the jobs tables. Status changes are conditional UPDATEs over the legal sources only. */
@Injectable()
export class JobsRepository {
  readonly db: DataSource;

  constructor(@InjectDataSource() db: DataSource) {
    this.db = db;
  }

  /**
   * Inserts a queued job. With `onlyIfCurrent`, only while its version is still the flow's current
   * one (checked in the same statement, so a run never starts a version it was not validated
   * against); returns undefined otherwise.
   */
  async insert(
    job: NewJob,
    tx: EntityManager | DataSource = this.db,
    onlyIfCurrent = false,
  ): Promise<JobRow | undefined> {
    const values = [
      job.id,
      job.flowId,
      job.flowVersionId,
      JSON.stringify(job.params),
      JSON.stringify(job.trigger),
      job.parentJobId ?? null,
      job.resume ? JSON.stringify(job.resume) : null,
      job.attempt ?? 1,
    ];
    const rows = onlyIfCurrent
      ? await tx.query<JobRow[]>(
          `INSERT INTO jobs (id, flow_id, flow_version_id, status, params, trigger, parent_job_id, resume, attempt)
           SELECT $1, f.id, v.id, 'queued', $4, $5, $6, $7, $8
             FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.current_version
            WHERE f.id = $2 AND v.id = $3
           RETURNING *`,
          values,
        )
      : await tx.query<JobRow[]>(
          `INSERT INTO jobs (id, flow_id, flow_version_id, status, params, trigger, parent_job_id, resume, attempt)
           VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8)
           RETURNING *`,
          values,
        );
    return rows[0];
  }

  /**
   * Inserts queued jobs in one statement, in the given order (so `seq` follows it). A job with
   * `onlyIfCurrent` is left out when its version is no longer the flow's current one or the flow
   * is disabled. Answers the inserted rows by job id.
   */
  async insertMany(
    jobs: ReadonlyArray<{ job: NewJob; onlyIfCurrent: boolean }>,
  ): Promise<Map<string, JobRow>> {
    // one JSON parameter: PostgreSQL parses it once, where jsonb[] literals escape every element;
    // prepared, as it runs for every batch of run requests
    const rows = await preparedQuery<JobRow>(
      this.db,
      'junction_jobs_insert_many',
      `INSERT INTO jobs (id, flow_id, flow_version_id, status, params, trigger, parent_job_id, resume, attempt)
       SELECT v.id, v.flow_id, v.version_id, 'queued', v.params, v.trigger, v.parent_job_id, v.resume, v.attempt
         FROM ROWS FROM (json_to_recordset($1::json)
                AS (id uuid, flow_id uuid, version_id uuid, params jsonb, trigger jsonb, parent_job_id uuid,
                    resume jsonb, attempt int, only_current bool))
              WITH ORDINALITY
              AS v(id, flow_id, version_id, params, trigger, parent_job_id, resume, attempt, only_current, ord)
        WHERE NOT v.only_current OR EXISTS (
                SELECT 1 FROM flows f JOIN flow_versions fv ON fv.flow_id = f.id AND fv.version = f.current_version
                 WHERE f.id = v.flow_id AND fv.id = v.version_id AND f.enabled)
        ORDER BY v.ord
       RETURNING *`,
      [
        JSON.stringify(
          jobs.map(({ job, onlyIfCurrent }) => ({
            id: job.id,
            flow_id: job.flowId,
            version_id: job.flowVersionId,
            params: job.params,
            trigger: job.trigger,
            parent_job_id: job.parentJobId ?? null,
            resume: job.resume ?? null,
            attempt: job.attempt ?? 1,
            only_current: onlyIfCurrent,
          })),
        ),
      ],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * Deletes up to `limit` finished jobs that ended before `before`, oldest first, with their logs,
   * events and failed records (ON DELETE CASCADE); answers how many went.
   */
  async purgeFinished(before: Date, limit: number): Promise<number> {
    const [, count] = await this.db.query<[unknown[], number]>(
      `DELETE FROM jobs WHERE id IN (
         SELECT id FROM jobs
          WHERE finished_at < $1 AND status = ANY($2::text[])
          ORDER BY finished_at LIMIT $3)`,
      [before, FINAL_STATUSES, limit],
    );
    return count;
  }

  async delete(id: string): Promise<void> {
    await this.db.query(`DELETE FROM jobs WHERE id = $1 AND status = 'queued'`, [id]);
  }

  async find(id: string): Promise<JobRow | undefined> {
    const rows = await this.db.query<JobRow[]>(`SELECT * FROM jobs WHERE id = $1`, [id]);
    return rows[0];
  }

  async list(filter: JobFilter): Promise<JobRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.flowId !== undefined) add('flow_id = ?', filter.flowId);
    if (filter.parentJobId !== undefined) add('parent_job_id = ?', filter.parentJobId);
    if (filter.status !== undefined && filter.status.length > 0)
      add('status = ANY(?::text[])', filter.status);
    if (filter.from !== undefined) add('created_at >= ?', filter.from);
    if (filter.to !== undefined) add('created_at < ?', filter.to);
    if (filter.beforeSeq !== undefined) add('seq < ?', filter.beforeSeq);
    params.push(filter.limit + 1);
    return await this.db.query<JobRow[]>(
      `SELECT * FROM jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
  }

  /** Jobs in a status created before a moment, oldest first (the reconciler's view). */
  async byStatus(statuses: readonly JobStatus[], createdBefore: Date, limit: number): Promise<JobRow[]> {
    return await this.db.query<JobRow[]>(
      `SELECT * FROM jobs WHERE status = ANY($1::text[]) AND created_at < $2 ORDER BY seq LIMIT $3`,
      [statuses, createdBefore, limit],
    );
  }

  /** Status and flow of each job that exists. */
  /** Those of the ids that are flow versions PostgreSQL still has. */
  async existingVersions(ids: readonly string[]): Promise<Set<string>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Set();
    const rows = await this.db.query<Array<{ id: string }>>(
      `SELECT id FROM flow_versions WHERE id = ANY($1::uuid[])`,
      [valid],
    );
    return new Set(rows.map((r) => r.id));
  }

  async info(ids: readonly string[]): Promise<Map<string, JobInfo>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Map();
    // prepared: the event consumer asks this for every batch it reads
    const rows = await preparedQuery<{
      id: string;
      status: JobStatus;
      flow_id: string;
      flow_version_id: string;
    }>(
      this.db,
      'junction_jobs_info',
      `SELECT id, status, flow_id, flow_version_id FROM jobs WHERE id = ANY($1::uuid[])`,
      [valid],
    );
    return new Map(
      rows.map((r) => [r.id, { status: r.status, flowId: r.flow_id, flowVersionId: r.flow_version_id }]),
    );
  }

  /**
   * Moves a job to `to` if it is in one of the statuses allowed to reach it (one legal step, or
   * `along` the legal path); returns the updated row, or undefined when another writer got there
   * first or the move is illegal.
   */
  async transition(
    id: string,
    to: JobStatus,
    set: { error?: RunError | null; finishedAt?: boolean } = {},
    along = false,
  ): Promise<JobRow | undefined> {
    const sources = along ? reachableSourcesOf(to) : sourcesOf(to);
    const terminal = to === 'completed' || to === 'failed' || to === 'cancelled';
    const rows = await this.db.query<[JobRow[], number]>(
      `UPDATE jobs SET status = $2,
              waiting_for_slot = false,
              error = COALESCE($4::jsonb, error),
              finished_at = CASE WHEN $5 THEN COALESCE(finished_at, clock_timestamp()) ELSE finished_at END
        WHERE id = $1 AND status = ANY($3::text[])
        RETURNING *`,
      [id, to, sources, set.error ? JSON.stringify(set.error) : null, terminal || set.finishedAt === true],
    );
    return rows[0][0];
  }

  async setWaiting(ids: readonly string[], waiting: boolean): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE jobs SET waiting_for_slot = $2 WHERE id = ANY($1::uuid[]) AND status = 'queued' AND waiting_for_slot <> $2`,
      [ids, waiting],
    );
  }

  async setLeases(leases: ReadonlyArray<{ id: string; until: Date }>): Promise<void> {
    if (leases.length === 0) return;
    await this.db.query(
      `UPDATE jobs SET lease_until = v.until
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, until)
        WHERE jobs.id = v.id`,
      [leases.map((l) => l.id), leases.map((l) => l.until)],
    );
  }

  async logs(jobId: string, afterSeq: string | undefined, limit: number): Promise<LogRow[]> {
    return await this.db.query<LogRow[]>(
      `SELECT seq, at, level, step_id, message, fields FROM job_logs
        WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [jobId, afterSeq ?? '0', limit + 1],
    );
  }

  async errors(
    jobId: string,
    filter: { status?: JobErrorStatus; afterSeq?: string; limit: number },
  ): Promise<ErrorRow[]> {
    return await this.db.query<ErrorRow[]>(
      `SELECT * FROM job_errors
        WHERE job_id = $1 AND seq > $2 AND ($3::text IS NULL OR status = $3)
        ORDER BY seq LIMIT $4`,
      [jobId, filter.afterSeq ?? '0', filter.status ?? null, filter.limit + 1],
    );
  }

  async findError(jobId: string, errorId: string): Promise<ErrorRow | undefined> {
    if (!isUuid(errorId)) return undefined;
    const rows = await this.db.query<ErrorRow[]>(`SELECT * FROM job_errors WHERE job_id = $1 AND id = $2`, [
      jobId,
      errorId,
    ]);
    return rows[0];
  }

  async setErrorStatus(errorId: string, status: JobErrorStatus): Promise<ErrorRow> {
    const rows = await this.db.query<[ErrorRow[], number]>(
      `UPDATE job_errors SET status = $2 WHERE id = $1 RETURNING *`,
      [errorId, status],
    );
    return rows[0][0];
  }

  /** The given errors of a job (a retry-errors request that names them), in order. */
  async errorsToRetry(jobId: string, ids: readonly string[], tx: EntityManager): Promise<ErrorRow[]> {
    return await tx.query<ErrorRow[]>(
      `SELECT * FROM job_errors WHERE job_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq FOR UPDATE`,
      [jobId, ids.filter(isUuid)],
    );
  }

  /** The first `limit` open errors of a job that no child job retries yet, in order. */
  async openErrorsPage(jobId: string, limit: number): Promise<ErrorRow[]> {
    return await this.db.query<ErrorRow[]>(
      `SELECT * FROM job_errors WHERE job_id = $1 AND status = 'open' AND retried_by_job_id IS NULL
        ORDER BY seq LIMIT $2`,
      [jobId, limit],
    );
  }

  async markRetried(errorIds: readonly string[], childJobId: string, tx: EntityManager): Promise<void> {
    await tx.query(`UPDATE job_errors SET retried_by_job_id = $2 WHERE id = ANY($1::uuid[])`, [
      errorIds,
      childJobId,
    ]);
  }

  /** The records a retry-errors job feeds back in, in their original order. */
  async retriedRecords(childJobId: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.db.query<Array<{ record: Record<string, unknown> }>>(
      `SELECT record FROM job_errors WHERE retried_by_job_id = $1 ORDER BY job_id, seq`,
      [childJobId],
    );
    return rows.map((r) => r.record);
  }

  /** Stored events with seq above `afterSeq`, for SSE replay: one numbering across the three tables. */
  async eventsAfter(jobId: string, afterSeq: string, limit: number): Promise<StoredEventRow[]> {
    return await this.db.query<StoredEventRow[]>(
      `SELECT * FROM (
          SELECT DISTINCT ON (seq) seq, type, at, data FROM (
            SELECT (e->>'seq')::bigint AS seq, e->>'type' AS type,
                   to_timestamp((e->>'at')::double precision / 1000) AS at, e - 'seq' - 'type' - 'at' AS data
              FROM job_event_chunks c, jsonb_array_elements(c.events::jsonb) e
             WHERE c.job_id = $1 AND c.last_seq > $2
          ) chunked WHERE seq > $2
          UNION ALL
          SELECT seq, 'step.log', at,
                 jsonb_strip_nulls(jsonb_build_object('stepId', step_id, 'level', level, 'message', message, 'fields', fields))
            FROM job_logs WHERE job_id = $1 AND seq > $2
          UNION ALL
          SELECT seq, 'record.error', created_at,
                 jsonb_build_object('stepId', step_id, 'message', message, 'record', record,
                                    'attempt', attempt, 'retryable', retryable)
            FROM job_errors WHERE job_id = $1 AND seq > $2
        ) e ORDER BY seq LIMIT $3`,
      [jobId, afterSeq, limit],
    );
  }

  /** Counts of active jobs by status (for the jobs gauge; the partial set keeps it an index scan). */
  async activeCounts(): Promise<Map<JobStatus, number>> {
    const rows = await this.db.query<Array<{ status: JobStatus; n: number }>>(
      `SELECT status, count(*)::int AS n FROM jobs WHERE status = ANY($1::text[]) GROUP BY status`,
      [ACTIVE_STATUSES],
    );
    return new Map(rows.map((r) => [r.status, r.n]));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
