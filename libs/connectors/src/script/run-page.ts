import {
  ConnectorError,
  type FlowRecord,
  type Page,
  type PageResult,
  type RecordFailure,
  type StepLogger,
} from '@junction/flow';
import { LOG_LIMITS } from './harness.ts';
import type { CallFailure, ScriptSandbox } from './sandbox.ts';

type Outcome = { ok: true; records: FlowRecord[] } | { ok: false; message: string } | { ok: 'ignored' };

export interface PageRun {
  /** The page's sandbox: the live one, or a new one after the last died (at once when it can). */
  acquire(): ScriptSandbox | Promise<ScriptSandbox>;
  /** Gives the sandbox's isolate back as soon as the page's last call returned. */
  release(): void;
  signal: AbortSignal;
  log: StepLogger;
  timeoutMs: number;
  memoryMb: number;
}

/** Timed-out records after which the rest of a page is not run. */
export const MAX_TIMEOUTS_PER_PAGE = 3;

function countTimeouts(outcomes: readonly (Outcome | undefined)[], run: PageRun): number {
  const message = timeoutMessage(run.timeoutMs);
  let count = 0;
  for (const o of outcomes) if (o && o.ok === false && o.message === message) count++;
  return count;
}

export function timeoutMessage(ms: number): string {
  return `script timed out after ${ms} ms`;
}

export function memoryMessage(mb: number): string {
  return `script exceeded its memory limit of ${mb} MB`;
}

/**
 * perRecord: one call into the isolate runs many records (the harness loops inside), so the
 * cost per record is a loop iteration, not an isolate round trip.
 *
 * Each record gets the full time limit: a call stops starting records after half its budget, and
 * a record caught by the timeout that did not start its call is retried first in a fresh call.
 * A timeout or memory failure fails only the record that was running (the harness writes its
 * index to shared memory, readable even after the isolate is gone); after a memory failure the
 * records finished in the lost isolate are run again in a new one.
 *
 * A script that loops on every record would take timeoutMs × page size; after
 * MAX_TIMEOUTS_PER_PAGE timeouts the rest of the page is failed without running it.
 */
export async function runPerRecord(run: PageRun, page: Page, json: string): Promise<PageResult> {
  const n = page.length;
  const outcomes = new Array<Outcome | undefined>(n);
  const ranges: [number, number][] = n > 0 ? [[0, n]] : [];
  const logs = new LogForwarder(run.log);
  let sandbox: ScriptSandbox | undefined;
  while (ranges.length > 0) {
    const [start, end] = ranges.shift() as [number, number];
    // a cancel between two calls disposed the sandbox: no new one for this run
    if (run.signal.aborted) throw stopReason(run);
    if (!sandbox || sandbox.disposed) {
      // no await on the usual path: from borrowing the isolate to giving it back, nothing else runs
      const acquired = run.acquire();
      sandbox = acquired instanceof Promise ? await acquired : acquired;
      const loaded = loadPage(sandbox, json, run);
      if (!loaded.ok) {
        failAll(outcomes, start, end, loaded.message);
        for (const [a, b] of ranges.splice(0)) failAll(outcomes, a, b, loaded.message);
        break;
      }
    }
    let text: string;
    try {
      const ran = sandbox.run(start, end);
      text = typeof ran === 'string' ? ran : await ran;
    } catch (error) {
      const failure = sandbox.failure(error);
      const at = Math.min(Math.max(sandbox.progress, start), end - 1);
      ranges.unshift(...(await recover(sandbox, failure, start, end, at, outcomes, logs, run)));
      if (countTimeouts(outcomes, run) >= MAX_TIMEOUTS_PER_PAGE) {
        const message = `not run: the script timed out on ${MAX_TIMEOUTS_PER_PAGE} records of this page (limit ${run.timeoutMs} ms each)`;
        for (const [a, b] of ranges.splice(0)) failAll(outcomes, a, b, message);
      }
      continue;
    }
    const chunk = readChunk(text, start, end);
    if (!chunk) {
      failAll(outcomes, start, end, 'the script broke its sandbox (unreadable output)');
      sandbox.dispose();
      continue;
    }
    logs.forward(chunk.logs, chunk.dropped);
    for (const [index, outcome] of chunk.outcomes) outcomes[index] = outcome;
    if (chunk.next < end) {
      ranges.unshift([chunk.next, end]);
      // the call stopped for its budget: calls may be synchronous, so let the event loop run
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  run.release();
  logs.finish();
  return assemble(outcomes);
}

/** perPage: the script gets all records and returns the page's output; a failure fails the page's records. */
export async function runPerPage(run: PageRun, page: Page, json: string): Promise<PageResult> {
  const logs = new LogForwarder(run.log);
  const acquired = run.acquire();
  const sandbox = acquired instanceof Promise ? await acquired : acquired;
  const loaded = loadPage(sandbox, json, run);
  const failPage = (message: string): PageResult => ({
    records: [],
    errors: page.map((_, index) => ({ index, message })),
  });
  if (!loaded.ok) return failPage(loaded.message);
  let text: string;
  try {
    text = await sandbox.runPage();
  } catch (error) {
    const failure = sandbox.failure(error);
    throwIfStopped(failure, run);
    if (failure.kind === 'timeout') {
      const partial = await collectQuietly(sandbox, 0);
      if (partial) logs.forward(partial.logs, partial.dropped);
      logs.finish();
    }
    return failPage(failureMessage(failure, run));
  }
  const parsed = parseJsonSafely(text) as {
    records?: unknown;
    error?: unknown;
    logs?: unknown;
    dropped?: unknown;
  };
  logs.forward(parsed?.logs, parsed?.dropped);
  logs.finish();
  if (typeof parsed?.error === 'string') return failPage(`the script failed on this page: ${parsed.error}`);
  if (!Array.isArray(parsed?.records) || !parsed.records.every(isRecord)) {
    sandbox.dispose();
    return failPage('the script broke its sandbox (unreadable output)');
  }
  return { records: parsed.records };
}

function loadPage(
  sandbox: ScriptSandbox,
  json: string,
  run: PageRun,
): { ok: true } | { ok: false; message: string } {
  try {
    sandbox.load(json);
    return { ok: true };
  } catch (error) {
    const failure = sandbox.failure(error);
    throwIfStopped(failure, run);
    if (failure.kind === 'memory')
      return {
        ok: false,
        message: `${memoryMessage(run.memoryMb)}: the page alone does not fit (raise memoryMb or lower the page size)`,
      };
    sandbox.dispose();
    return { ok: false, message: `the script broke its sandbox: ${failureMessage(failure, run)}` };
  }
}

/** Decides what to run next after a failed call; the record at `at` is the one that was running. */
async function recover(
  sandbox: ScriptSandbox,
  failure: CallFailure,
  start: number,
  end: number,
  at: number,
  outcomes: (Outcome | undefined)[],
  logs: LogForwarder,
  run: PageRun,
): Promise<[number, number][]> {
  throwIfStopped(failure, run);
  const rest: [number, number][] = at + 1 < end ? [[at + 1, end]] : [];
  if (failure.kind === 'timeout') {
    const chunk = await collectQuietly(sandbox, at, start, at);
    if (chunk) {
      logs.forward(chunk.logs, chunk.dropped);
      for (const [index, outcome] of chunk.outcomes) outcomes[index] = outcome;
      // the record did not have the call to itself: give it a call of its own first
      if (at > start) return [[at, end]];
      outcomes[at] = { ok: false, message: timeoutMessage(run.timeoutMs) };
      return rest;
    }
    sandbox.dispose();
    outcomes[at] = { ok: false, message: timeoutMessage(run.timeoutMs) };
    return at > start ? [[start, at], ...rest] : rest;
  }
  if (failure.kind === 'memory') {
    run.log.warn(`${memoryMessage(run.memoryMb)} on record ${at} of the page; starting a new isolate`);
    outcomes[at] = { ok: false, message: memoryMessage(run.memoryMb) };
    return at > start ? [[start, at], ...rest] : rest;
  }
  // The harness itself failed (the script replaced built-ins it relies on): fail what was running.
  sandbox.dispose();
  failAll(outcomes, start, end, `the script broke its sandbox: ${failureMessage(failure, run)}`);
  return [];
}

function stopReason(run: PageRun): Error {
  return run.signal.reason instanceof Error
    ? run.signal.reason
    : new ConnectorError('the script was stopped: the run was cancelled', { retryable: false });
}

function throwIfStopped(failure: CallFailure, run: PageRun): void {
  if (run.signal.aborted) throw stopReason(run);
  if (failure.kind === 'disposed')
    throw new ConnectorError('the script was stopped: its isolate was shut down', { retryable: true });
}

function failureMessage(failure: CallFailure, run: PageRun): string {
  switch (failure.kind) {
    case 'timeout':
      return timeoutMessage(run.timeoutMs);
    case 'memory':
      return memoryMessage(run.memoryMb);
    case 'disposed':
      return 'the isolate was shut down';
    case 'other':
      return failure.message;
  }
}

async function collectQuietly(
  sandbox: ScriptSandbox,
  next: number,
  start = 0,
  end = 0,
): Promise<Chunk | undefined> {
  if (sandbox.disposed) return undefined;
  try {
    return readChunk(await sandbox.collect(next), start, Math.max(end, start));
  } catch {
    return undefined;
  }
}

interface Chunk {
  next: number;
  outcomes: [number, Outcome][];
  logs: unknown;
  dropped: unknown;
}

/** Reads the harness' output, trusting nothing in it: indexes must lie in [start, end). */
function readChunk(text: string, start: number, end: number): Chunk | undefined {
  const raw = parseJsonSafely(text) as {
    next?: unknown;
    outcomes?: unknown;
    logs?: unknown;
    dropped?: unknown;
  };
  if (!raw || typeof raw.next !== 'number' || !Number.isInteger(raw.next) || !Array.isArray(raw.outcomes))
    return undefined;
  if (raw.next < start || raw.next > end) return undefined;
  const outcomes: [number, Outcome][] = [];
  for (const item of raw.outcomes as unknown[]) {
    if (!Array.isArray(item)) return undefined;
    const [index, code, payload] = item as [unknown, unknown, unknown];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < start || index >= end)
      return undefined;
    if (code === 0 && Array.isArray(payload) && payload.every(isRecord)) {
      outcomes.push([index, { ok: true, records: payload }]);
    } else if (code === 1 && typeof payload === 'string')
      outcomes.push([index, { ok: false, message: payload }]);
    else if (code === 2) outcomes.push([index, { ok: 'ignored' }]);
    else return undefined;
  }
  return { next: raw.next, outcomes, logs: raw.logs, dropped: raw.dropped };
}

// A `__proto__` key parsed from JSON is an own data property, harmless by itself, but it would
// set the prototype of any object it is later copied into with Object.assign or `o[k] = v`.
function parseJsonSafely(text: string): unknown {
  try {
    return text.includes('"__proto__"') ? JSON.parse(text, dropProtoKeys) : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function isRecord(value: unknown): value is FlowRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function failAll(outcomes: (Outcome | undefined)[], start: number, end: number, message: string): void {
  for (let i = start; i < end; i++) outcomes[i] ??= { ok: false, message };
}

function assemble(outcomes: (Outcome | undefined)[]): PageResult {
  const records: FlowRecord[] = [];
  const errors: RecordFailure[] = [];
  let ignored = 0;
  outcomes.forEach((outcome, index) => {
    if (!outcome) errors.push({ index, message: 'the script produced no result for this record' });
    else if (outcome.ok === true) for (const r of outcome.records) records.push(r);
    else if (outcome.ok === 'ignored') ignored++;
    else errors.push({ index, message: outcome.message });
  });
  const result: PageResult = { records };
  if (errors.length > 0) result.errors = errors;
  if (ignored > 0) result.ignored = ignored;
  return result;
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/** Forwards console lines to the step's log, at most LOG_LIMITS.lines per page. */
class LogForwarder {
  private readonly log: StepLogger;
  private sent = 0;
  private dropped = 0;

  constructor(log: StepLogger) {
    this.log = log;
  }

  forward(lines: unknown, droppedInside: unknown): void {
    if (typeof droppedInside === 'number' && droppedInside > 0) this.dropped += droppedInside;
    if (!Array.isArray(lines)) return;
    for (const line of lines as unknown[]) {
      if (!Array.isArray(line) || typeof line[1] !== 'string') continue;
      if (this.sent >= LOG_LIMITS.lines) {
        this.dropped++;
        continue;
      }
      const level = LEVELS.has(line[0] as string) ? (line[0] as keyof StepLogger) : 'info';
      this.log[level](String(line[1]).slice(0, LOG_LIMITS.lineChars + 1), { source: 'script console' });
      this.sent++;
    }
  }

  finish(): void {
    if (this.dropped > 0)
      this.log.warn(`${this.dropped} more script console lines on this page were dropped`);
    this.dropped = 0;
  }
}
