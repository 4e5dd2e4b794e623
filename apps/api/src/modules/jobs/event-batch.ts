import type { JobEventEnvelope, JobFinishedEvent, RunOutcome, StepStats } from '@junction/protocol';
import { mayHoldUnstorable, storable } from '../../common/storable-text.ts';

export interface LogInsert {
  jobId: string;
  seq: number;
  at: Date;
  level: string;
  stepId: string | null;
  message: string;
  fields: Record<string, unknown> | null;
}

/** A job's stored events of one batch, as one row: the events as JSON, each with its seq. */
export interface EventChunk {
  jobId: string;
  firstSeq: number;
  lastSeq: number;
  /** Each event with its seq: `{seq, type, at, …}` */
  events: Array<Record<string, unknown>>;
}

export interface ErrorInsert {
  jobId: string;
  seq: number;
  stepId: string;
  message: string;
  record: Record<string, unknown>;
  attempt: number;
  retryable: boolean;
  at: Date;
}

export interface Finish {
  seq: number;
  status: RunOutcome;
  at: Date;
  startedAt: Date;
  workerId: string | null;
  event: JobFinishedEvent;
}

/** What a batch of stream entries changes in PostgreSQL, coalesced per job. */
export interface IngestBatch {
  logs: LogInsert[];
  /** job → its stored events of the batch */
  events: Map<string, EventChunk>;
  errors: ErrorInsert[];
  /** job → when it started and where */
  started: Map<string, { at: Date; workerId: string | null }>;
  /** job → step → newest stats */
  stats: Map<string, Record<string, StepStats>>;
  finished: Map<string, Finish>;
  /** step.finished outcomes, for the step metrics */
  steps: Array<{ status: string; stats: StepStats }>;
}

/**
 * Sorts a batch of events into the writes it needs: log lines, stored events and failed records
 * become rows (idempotent by job and seq), progress collapses to the newest stats per step, and
 * start and finish become one status update per job.
 */
export function buildBatch(envelopes: readonly JobEventEnvelope[]): IngestBatch {
  const batch: IngestBatch = {
    logs: [],
    events: new Map(),
    errors: [],
    started: new Map(),
    stats: new Map(),
    finished: new Map(),
    steps: [],
  };
  const statsSeq = new Map<string, number>();
  const setStats = (jobId: string, stepId: string, seq: number, stats: StepStats) => {
    const key = `${jobId}\u0000${stepId}`;
    if ((statsSeq.get(key) ?? -1) > seq) return;
    statsSeq.set(key, seq);
    const perJob = batch.stats.get(jobId) ?? {};
    perJob[stepId] = stats;
    batch.stats.set(jobId, perJob);
  };

  for (const { jobId, seq, event, workerId } of envelopes) {
    const at = new Date(event.at);
    switch (event.type) {
      case 'step.log':
        batch.logs.push({
          jobId,
          seq,
          at,
          level: event.level,
          stepId: event.stepId ?? null,
          message: event.message,
          fields: event.fields ?? null,
        });
        break;
      case 'record.error':
        batch.errors.push({
          jobId,
          seq,
          stepId: event.stepId,
          message: event.message,
          record: event.record ?? {},
          attempt: event.attempt,
          retryable: event.retryable,
          at,
        });
        break;
      case 'step.stats':
        // progress: not stored as an event (the next one replaces it), only as the job's stats
        setStats(jobId, event.stepId, seq, event.stats);
        break;
      case 'job.started': {
        const previous = batch.started.get(jobId);
        if (!previous || previous.at > at) batch.started.set(jobId, { at, workerId: workerId ?? null });
        store(batch, jobId, seq, event);
        break;
      }
      case 'step.started':
        store(batch, jobId, seq, event);
        break;
      case 'step.finished':
        setStats(jobId, event.stepId, seq, event.stats);
        batch.steps.push({ status: event.status, stats: event.stats });
        store(batch, jobId, seq, event);
        break;
      case 'job.finished': {
        const previous = batch.finished.get(jobId);
        if (!previous || previous.seq < seq) {
          batch.finished.set(jobId, {
            seq,
            status: event.status,
            at,
            startedAt: new Date(event.at - event.durationMs),
            workerId: workerId ?? null,
            event,
          });
        }
        store(batch, jobId, seq, event);
        break;
      }
    }
  }
  return batch;
}

function store(batch: IngestBatch, jobId: string, seq: number, event: JobEventEnvelope['event']): void {
  const stored = { seq, ...event };
  const chunk = batch.events.get(jobId);
  if (!chunk) {
    batch.events.set(jobId, { jobId, firstSeq: seq, lastSeq: seq, events: [stored] });
    return;
  }
  chunk.firstSeq = Math.min(chunk.firstSeq, seq);
  chunk.lastSeq = Math.max(chunk.lastSeq, seq);
  chunk.events.push(stored);
}

/**
 * Rows as one JSON text parameter, for `json_to_recordset`: one string for PostgreSQL to parse
 * instead of array literals with every element escaped. Text PostgreSQL cannot store (a NUL,
 * half an emoji from a message cut at its length limit) must not poison the batch: NULs are
 * dropped and unpaired surrogates become U+FFFD (common/storable-text.ts).
 */
export function rowsJson(rows: readonly object[]): string {
  const text = JSON.stringify(rows);
  // rare, so only then the slower pass
  return mayHoldUnstorable(text) ? JSON.stringify(storable(rows)) : text;
}
