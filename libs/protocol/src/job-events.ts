/**
 * How run events travel from a worker to the API: batches of envelopes on a Redis Stream (one
 * stream entry per flush, many jobs per entry), each event numbered per job so that consumers can
 * store it idempotently and SSE clients can resume with Last-Event-ID.
 */
import type { RunEvent } from './events.ts';

export interface JobEventEnvelope {
  jobId: string;
  /** Increases with every event of the job; unique per job (a re-run after a hand-back starts a new range). */
  seq: number;
  event: RunEvent;
  /** The worker that emitted it (set on job.started). */
  workerId?: string;
}

/** Field name of the JSON batch in a stream entry. */
export const EVENT_BATCH_FIELD = 'b';

/** A re-run of the same job id (after a worker handed it back) numbers its events from here on. */
export const SEQ_PER_RUN = 1_000_000_000;

export function encodeEventBatch(batch: readonly JobEventEnvelope[]): string {
  return JSON.stringify(batch);
}

/** Parses a stream entry's batch; entries that are not envelopes are dropped, not thrown on. */
export function decodeEventBatch(text: string): JobEventEnvelope[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.filter(isEnvelope);
}

function isEnvelope(value: unknown): value is JobEventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const event = v.event as Record<string, unknown> | null | undefined;
  return (
    typeof v.jobId === 'string' &&
    typeof v.seq === 'number' &&
    typeof event === 'object' &&
    event !== null &&
    typeof event.type === 'string'
  );
}

/** What the API publishes to SSE clients on every replica after storing a batch. */
export interface LiveEventMessage {
  jobId: string;
  seq: number;
  event: RunEvent;
}
