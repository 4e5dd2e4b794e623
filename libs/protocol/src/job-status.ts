/**
 * The job state machine. PostgreSQL applies these transitions with a conditional
 * `UPDATE ... WHERE status IN (sourcesOf(to))`, so concurrent writers (event consumers on several
 * API replicas, the reconciler, a cancel request) can never move a job backwards or out of a
 * terminal state.
 *
 *   queued ──► running ──► completed | failed
 *     │           │
 *     │           ▼
 *     ├──────► cancelling ──► cancelled
 *     └──────────────────────► cancelled      (cancelled before a worker started it)
 *
 * `cancelling` may also end `completed` or `failed`: the cancel signal can arrive after the
 * last step finished (or the worker died), and the job must report what really happened rather
 * than stay `cancelling` forever.
 */
import type { JobStatus } from './events.ts';

export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelling',
  'cancelled',
];

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

const NEXT: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'cancelling', 'cancelled'],
  running: ['completed', 'failed', 'cancelling'],
  cancelling: ['cancelled', 'completed', 'failed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export class IllegalTransitionError extends Error {
  readonly from: JobStatus;
  readonly to: JobStatus;
  constructor(from: JobStatus, to: JobStatus) {
    super(`a job cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
    this.from = from;
    this.to = to;
  }
}

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return NEXT[from].includes(to);
}

/** The next status, or IllegalTransitionError. */
export function transition(from: JobStatus, to: JobStatus): JobStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

/** Statuses that may move to `to` in one step: the `WHERE status IN (...)` of the UPDATE. */
export function sourcesOf(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => canTransition(from, to));
}

/**
 * Statuses from which `to` can be reached through legal steps. Events from a worker may be applied
 * out of order when several API replicas consume the stream (job.finished before job.started), so
 * the consumer moves a job straight along the path; it never jumps over a terminal state.
 */
export function reachableSourcesOf(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => from !== to && reaches(from, to, new Set()));
}

function reaches(from: JobStatus, to: JobStatus, seen: Set<JobStatus>): boolean {
  if (seen.has(from)) return false;
  seen.add(from);
  return NEXT[from].some((next) => next === to || reaches(next, to, seen));
}
