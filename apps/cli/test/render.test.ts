import { describe, expect, it } from 'vitest';
import type { RunEvent, StepStats } from '@junction/protocol';
import { createProgress } from '../src/render/progress.ts';
import { RunState } from '../src/render/run-state.ts';
import { renderRunSummary } from '../src/render/run-summary.ts';

const stats = (s: Partial<StepStats>): StepStats => ({
  in: 0,
  out: 0,
  errors: 0,
  ignored: 0,
  durationMs: 0,
  ...s,
});

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (t: string) => chunks.push(t) } };
}

const T0 = 1_700_000_000_000;
const events: RunEvent[] = [
  { type: 'job.started', at: T0, flow: 'copy' },
  { type: 'step.started', at: T0, stepId: 'read', path: 'steps[0]', use: 'database.query' },
  { type: 'step.stats', at: T0 + 3000, stepId: 'read', stats: stats({ out: 30_000, durationMs: 3000 }) },
  { type: 'step.started', at: T0 + 10, stepId: 'shape', path: 'steps[1]', use: 'transform.map' },
  {
    type: 'record.error',
    at: T0 + 20,
    stepId: 'shape',
    message: 'field "cents": not a number',
    record: { id: 7 },
    attempt: 1,
    retryable: false,
  },
  {
    type: 'step.finished',
    at: T0 + 4000,
    stepId: 'read',
    status: 'completed',
    stats: stats({ out: 40_000, durationMs: 4000 }),
  },
  {
    type: 'step.finished',
    at: T0 + 4100,
    stepId: 'shape',
    status: 'completed',
    stats: stats({ in: 40_000, out: 39_999, errors: 1, durationMs: 4090 }),
  },
];

describe('plain progress (not a terminal)', () => {
  it('prints a line when a step starts, throttled record counts, and a line when it ends', () => {
    const { chunks, stream } = sink(false);
    const state = new RunState();
    let now = T0;
    const progress = createProgress(stream, state, { now: () => now, plainEveryMs: 2000 });
    for (const e of events) {
      now = e.at;
      state.apply(e);
      progress.onEvent(e);
    }
    const out = chunks.join('');
    expect(out).toContain('▶ read (database.query)\n');
    expect(out).toContain('  read: 30,000 records, 10,000/s\n');
    expect(out).toMatch(/✓ read {2}database\.query {2}40,000 records {2}4\.0 s {2}10,000\/s\n/);
    expect(out).toContain('1 errors');
    expect(out).not.toContain('\x1b[');
  });
});

describe('terminal progress', () => {
  it('redraws running steps in place with their throughput', () => {
    const { chunks, stream } = sink(true);
    const state = new RunState();
    let now = T0;
    const progress = createProgress(stream, state, { now: () => now, intervalMs: 60_000 });
    for (const e of events.slice(0, 4)) {
      now = e.at;
      state.apply(e);
      progress.onEvent(e);
    }
    now = T0 + 4000;
    state.apply({
      type: 'step.stats',
      at: now,
      stepId: 'read',
      stats: stats({ out: 50_000, durationMs: 4000 }),
    });
    progress.onEvent({
      type: 'step.stats',
      at: now,
      stepId: 'read',
      stats: stats({ out: 50_000, durationMs: 4000 }),
    });
    progress.note('cancelling…');
    progress.close();
    const out = chunks.join('');
    // a note goes above the live lines, so the next redraw does not overwrite it
    // eslint-disable-next-line no-control-regex -- the terminal escape codes are what is tested
    expect(out).toMatch(/\x1b\[2F\x1b\[Jcancelling…\n.*read {2}database\.query/);
    // the last frame moves up over the two running lines and rewrites them
    const last = out.slice(out.lastIndexOf('\x1b[2F'));
    expect(last).toMatch(/read {2}database\.query {2}50,000 records {2}20,000\/s {2}4\.0 s/);
    expect(last).toContain('shape  transform.map  0 records');
  });
});

describe('run summary', () => {
  it('shows every step with its stats and rate, the record errors and the outcome', () => {
    const state = new RunState();
    for (const e of events) state.apply(e);
    const lines = renderRunSummary(state, {
      status: 'completed',
      stats: {
        read: stats({ out: 40_000, durationMs: 4000 }),
        shape: stats({ in: 40_000, out: 39_999, errors: 1, durationMs: 4090 }),
      },
      errorCount: 1,
      durationMs: 4200,
    });
    expect(lines.join('\n')).toBe(
      [
        '',
        'step   status         in     out  errors  ignored  duration  rows/s',
        '─────  ─────────  ──────  ──────  ──────  ───────  ────────  ──────',
        'read   completed       0  40,000       0        0     4.0 s  10,000',
        'shape  completed  40,000  39,999       1        0     4.1 s   9,780',
        '',
        'Record errors (1):',
        '  shape: field "cents": not a number',
        '',
        '✓ completed in 4.2 s with 1 record error',
      ].join('\n'),
    );
  });

  it('names the failing step and its message when the run failed', () => {
    const lines = renderRunSummary(new RunState(), {
      status: 'failed',
      error: { message: 'relation "x" does not exist', stepId: 'load' },
      stats: {},
      errorCount: 0,
      durationMs: 120,
    });
    expect(lines.at(-1)).toBe('✗ failed at step load after 120 ms: relation "x" does not exist');
  });
});
