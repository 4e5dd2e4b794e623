import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import { EventStreamConsumer, type StreamEntry } from '@junction/jobs';
import {
  reachableSourcesOf,
  type JobEventEnvelope,
  type JobStatus,
  type LiveEventMessage,
} from '@junction/protocol';
import type { AppConfig } from '../../config/app-config.ts';
import { APP_CONFIG } from '../../config/config.module.ts';
import { preparedQuery } from '../../database/prepared-query.ts';
import { buildBatch, rowsJson, type IngestBatch } from './event-batch.ts';
import { JobPayloadsService } from './job-payloads.service.ts';
import { JobsMetricsService } from './jobs-metrics.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { ACTIVE_STATUSES, JobsRepository, type JobInfo } from './jobs.repository.ts';

interface FinishedRow {
  id: string;
  flow_id: string;
  status: JobStatus;
}

/**
 * Reads the workers' event stream (consumer group: API replicas share it) and stores each batch
 * in one transaction: log lines, events and failed records as multi-row inserts, progress as one
 * stats update per job, starts and finishes as conditional status updates. Acknowledged after
 * the commit; then the finished jobs' slots are freed and the events fanned out to SSE clients.
 */
@Injectable()
export class EventIngestService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly config: AppConfig;
  private readonly redis: JobsRedisService;
  private readonly repo: JobsRepository;
  private readonly metrics: JobsMetricsService;
  private readonly payloads: JobPayloadsService;
  private readonly logger: PinoLogger;
  private consumer: EventStreamConsumer | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    redis: JobsRedisService,
    repo: JobsRepository,
    metrics: JobsMetricsService,
    payloads: JobPayloadsService,
    logger: PinoLogger,
  ) {
    this.config = config;
    this.redis = redis;
    this.repo = repo;
    this.metrics = metrics;
    this.payloads = payloads;
    this.logger = logger;
    this.logger.setContext('job-events');
  }

  /** When the consumer last completed a read: it is alive. */
  get lastReadAt(): number {
    return this.consumer?.lastReadAt ?? 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.jobs.background) return;
    const { names } = this.redis;
    this.consumer = new EventStreamConsumer(this.redis.connection('events'), {
      stream: names.eventStream,
      group: names.eventGroup,
      consumer: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      handle: (entries) => this.handle(entries),
      // a little latency for live events buys fewer, larger transactions under load
      lingerMs: 25,
      onError: (error) => this.logger.error({ error: String(error) }, 'storing run events failed'),
    });
    // Not awaited: the API must boot and answer /health (and /ready: 503) while Redis is down;
    // the consumer starts reading as soon as Redis answers.
    void this.startConsumer(this.consumer);
  }

  private async startConsumer(consumer: EventStreamConsumer): Promise<void> {
    for (let delayMs = 500; this.consumer === consumer; delayMs = Math.min(delayMs * 2, 10_000)) {
      try {
        await consumer.start();
        return;
      } catch (error) {
        this.logger.warn(
          { error: String(error) },
          `event stream consumer not started; retrying in ${delayMs} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }

  /** Before the connections close (onApplicationShutdown of JobsRedisService). */
  async beforeApplicationShutdown(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
  }

  async handle(entries: readonly StreamEntry[]): Promise<void> {
    const all = entries.flatMap((e) => e.envelopes);
    if (all.length === 0) return;
    // events of jobs this database does not know (deleted, or another deployment) are dropped
    const known = await this.repo.info([...new Set(all.map((e) => e.jobId))]);
    const envelopes = all.filter((e) => known.has(e.jobId));
    if (envelopes.length === 0) return;
    const batch = buildBatch(envelopes);
    const finished = await this.repo.db.transaction((tx) => this.write(tx, batch));
    this.metrics.eventsIngested.inc(envelopes.length);
    this.count(batch, finished);
    await this.afterCommit(batch, envelopes, known);
  }

  private async write(tx: EntityManager, b: IngestBatch): Promise<FinishedRow[]> {
    if (b.logs.length > 0) {
      await preparedQuery(
        tx,
        'junction_job_logs_insert',
        `INSERT INTO job_logs (job_id, seq, at, level, step_id, message, fields)
         SELECT v.job_id, v.seq, v.at, v.level, v.step_id, v.message, v.fields
           FROM json_to_recordset($1::json)
             AS v(job_id uuid, seq bigint, at timestamptz, level text, step_id text, message text, fields jsonb)
         ON CONFLICT DO NOTHING`,
        [
          rowsJson(
            b.logs.map((l) => ({
              job_id: l.jobId,
              seq: l.seq,
              at: l.at,
              level: l.level,
              step_id: l.stepId,
              message: l.message,
              fields: l.fields,
            })),
          ),
        ],
      );
    }
    if (b.events.size > 0) {
      // a batch stored again keeps the longer chunk; replay drops duplicate seqs of overlapping ones
      await preparedQuery(
        tx,
        'junction_event_chunks_insert',
        `INSERT INTO job_event_chunks (job_id, first_seq, last_seq, events)
         SELECT v.job_id, v.first_seq, v.last_seq, v.events
           FROM json_to_recordset($1::json) AS v(job_id uuid, first_seq bigint, last_seq bigint, events json)
         ON CONFLICT (job_id, first_seq) DO UPDATE SET last_seq = EXCLUDED.last_seq, events = EXCLUDED.events
          WHERE job_event_chunks.last_seq < EXCLUDED.last_seq`,
        [
          rowsJson(
            [...b.events.values()].map((c) => ({
              job_id: c.jobId,
              first_seq: c.firstSeq,
              last_seq: c.lastSeq,
              events: c.events,
            })),
          ),
        ],
      );
    }
    if (b.errors.length > 0) {
      // error_count grows only by rows really inserted, so a batch handled twice counts once
      await tx.query(
        `WITH inserted AS (
           INSERT INTO job_errors (job_id, seq, step_id, message, record, attempt, retryable, created_at)
           SELECT v.job_id, v.seq, v.step_id, v.message, v.record, v.attempt, v.retryable, v.at
             FROM json_to_recordset($1::json)
               AS v(job_id uuid, seq bigint, step_id text, message text, record jsonb, attempt int, retryable bool, at timestamptz)
           ON CONFLICT (job_id, seq) DO NOTHING
           RETURNING job_id)
         UPDATE jobs SET error_count = jobs.error_count + c.n
           FROM (SELECT job_id, count(*)::int AS n FROM inserted GROUP BY job_id) c
          WHERE jobs.id = c.job_id AND jobs.status = ANY($2::text[])`,
        [
          rowsJson(
            b.errors.map((e) => ({
              job_id: e.jobId,
              seq: e.seq,
              step_id: e.stepId,
              message: e.message,
              record: e.record,
              attempt: e.attempt,
              retryable: e.retryable,
              at: e.at,
            })),
          ),
          ACTIVE_STATUSES,
        ],
      );
    }
    // a job that started and finished within the batch gets one update (the finish), not two
    const started = [...b.started].filter(([id]) => !b.finished.has(id));
    if (started.length > 0) {
      // queued → running; a job already running (restarted after a hand-back) only gets its new worker
      await preparedQuery(
        tx,
        'junction_jobs_start',
        `UPDATE jobs SET status = CASE WHEN jobs.status = 'queued' THEN 'running' ELSE jobs.status END,
                started_at = COALESCE(jobs.started_at, v.at),
                worker_id = v.worker,
                waiting_for_slot = false
           FROM json_to_recordset($1::json) AS v(id uuid, at timestamptz, worker text)
          WHERE jobs.id = v.id AND jobs.status = ANY($2::text[])`,
        [rowsJson(started.map(([id, s]) => ({ id, at: s.at, worker: s.workerId }))), ACTIVE_STATUSES],
      );
    }
    const progress = [...b.stats].filter(([id]) => !b.finished.has(id));
    if (progress.length > 0) {
      await preparedQuery(
        tx,
        'junction_jobs_progress',
        `UPDATE jobs SET stats = jobs.stats || v.stats
           FROM json_to_recordset($1::json) AS v(id uuid, stats jsonb)
          WHERE jobs.id = v.id AND jobs.status = ANY($2::text[])`,
        [rowsJson(progress.map(([id, stats]) => ({ id, stats }))), ACTIVE_STATUSES],
      );
    }
    if (b.finished.size === 0) return [];
    // every outcome is reachable from queued, running and cancelling; never from a final status
    const sources = reachableSourcesOf('completed');
    const rows = await preparedQuery<FinishedRow>(
      tx,
      'junction_jobs_finish',
      `UPDATE jobs SET status = v.status,
              finished_at = v.at,
              started_at = COALESCE(jobs.started_at, v.started),
              worker_id = COALESCE(v.worker, jobs.worker_id),
              stats = v.stats,
              error_count = v.error_count,
              error = v.error,
              output = v.output -> 'value',
              waiting_for_slot = false,
              lease_until = NULL
         FROM json_to_recordset($1::json)
              AS v(id uuid, status text, at timestamptz, started timestamptz, stats jsonb, error_count int,
                   error jsonb, output jsonb, worker text)
        WHERE jobs.id = v.id AND jobs.status = ANY($2::text[])
        RETURNING jobs.id, jobs.flow_id, jobs.status`,
      [
        rowsJson(
          [...b.finished].map(([id, f]) => ({
            id,
            status: f.status,
            at: f.at,
            started: b.started.get(id)?.at ?? f.startedAt,
            stats: f.event.stats ?? {},
            error_count: f.event.errorCount ?? 0,
            error: f.event.error ?? null,
            // wrapped: a JSON null output is stored as JSON null, a missing one as SQL NULL
            output: f.event.output === undefined ? undefined : { value: f.event.output },
            worker: f.workerId ?? b.started.get(id)?.workerId ?? null,
          })),
        ),
        sources,
      ],
    );
    // a retry of failed records that went through cleanly resolves the errors it retried
    const clean = rows.filter(
      (r) => r.status === 'completed' && (b.finished.get(r.id)?.event.errorCount ?? 0) === 0,
    );
    if (clean.length > 0) {
      await tx.query(
        `UPDATE job_errors SET status = 'resolved' WHERE retried_by_job_id = ANY($1::uuid[]) AND status = 'open'`,
        [clean.map((r) => r.id)],
      );
    }
    return rows;
  }

  private count(batch: IngestBatch, finished: readonly FinishedRow[]): void {
    for (const row of finished) {
      this.metrics.finished.inc({ status: row.status });
      const f = batch.finished.get(row.id);
      if (f) this.metrics.jobDuration.observe({ status: row.status }, f.event.durationMs / 1000);
    }
    for (const step of batch.steps) {
      this.metrics.stepDuration.observe({ status: step.status }, step.stats.durationMs / 1000);
      this.metrics.records.inc(step.stats.in);
    }
    if (batch.errors.length > 0) this.metrics.recordErrors.inc(batch.errors.length);
  }

  private async afterCommit(
    batch: IngestBatch,
    envelopes: readonly JobEventEnvelope[],
    known: ReadonlyMap<string, JobInfo>,
  ): Promise<void> {
    const live = this.publishLive(envelopes);
    const results = await Promise.allSettled([this.releaseSlots(batch, known), live]);
    for (const r of results) {
      if (r.status === 'rejected') this.logger.warn({ error: String(r.reason) }, 'after storing events');
    }
  }

  /**
   * The worker freed the slots already; this covers a worker that died right after reporting.
   * Jobs of unlimited flows hold no slot.
   */
  private async releaseSlots(batch: IngestBatch, known: ReadonlyMap<string, JobInfo>): Promise<void> {
    const byVersion = Map.groupBy(batch.finished.keys(), (jobId) => known.get(jobId)?.flowVersionId ?? '');
    const gated: string[] = [];
    for (const [versionId, jobIds] of byVersion) {
      if (versionId !== '' && !(await this.payloads.gated(versionId))) continue;
      gated.push(...jobIds);
    }
    const byFlow = Map.groupBy(gated, (jobId) => known.get(jobId)?.flowId ?? '');
    await Promise.all(
      [...byFlow].map(([flowId, jobIds]) => this.redis.dispatcher.releaseMany(flowId, jobIds)),
    );
  }

  /**
   * Fans the events out to the SSE clients of every replica: one channel per job, and only for
   * jobs someone watches (most runs are never watched; serializing their events would be waste).
   */
  private async publishLive(envelopes: readonly JobEventEnvelope[]): Promise<void> {
    const { main, names } = this.redis;
    const byJob = new Map<string, LiveEventMessage[]>();
    for (const e of envelopes) {
      const list = byJob.get(e.jobId) ?? [];
      list.push({ jobId: e.jobId, seq: e.seq, event: e.event });
      byJob.set(e.jobId, list);
    }
    const channels = [...byJob.keys()].map((id) => `${names.liveChannel}:${id}`);
    const counts = (await main.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
    const pipeline = main.pipeline();
    let watched = 0;
    for (let i = 0; i + 1 < counts.length; i += 2) {
      if (Number(counts[i + 1]) === 0) continue;
      const channel = String(counts[i]);
      const messages = byJob.get(channel.slice(names.liveChannel.length + 1));
      if (!messages) continue;
      pipeline.publish(channel, JSON.stringify(messages));
      watched++;
    }
    if (watched > 0) await pipeline.exec();
  }
}
