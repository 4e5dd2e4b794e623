import type { StepStats } from '@junction/protocol';
import { formatCount, formatDuration, formatRate, formatTable, oneLine } from './format.ts';
import { processed, type RunState } from './run-state.ts';

/**
 * The final table of step stats, in the order steps started:
 * step, status, in, out, errors, ignored, duration, rows/s.
 */
export function renderStatsTable(state: RunState, finalStats: Readonly<Record<string, StepStats>>): string[] {
  const ids = [...state.steps.keys()];
  for (const id of Object.keys(finalStats)) if (!state.steps.has(id)) ids.push(id);
  if (ids.length === 0) return [];
  const rows = ids.map((id) => {
    const view = state.steps.get(id);
    const stats = finalStats[id] ?? view?.stats ?? { in: 0, out: 0, errors: 0, ignored: 0, durationMs: 0 };
    return [
      `${'  '.repeat(view?.depth ?? 0)}${id}`,
      view?.status ?? '—',
      formatCount(stats.in),
      formatCount(stats.out),
      formatCount(stats.errors),
      formatCount(stats.ignored),
      formatDuration(stats.durationMs),
      formatRate(processed(stats), stats.durationMs),
    ];
  });
  return formatTable(
    ['step', 'status', 'in', 'out', 'errors', 'ignored', 'duration', 'rows/s'],
    rows,
    new Set([2, 3, 4, 5, 6, 7]),
  );
}

/** The first record errors, one line each: step and message. */
export function renderRecordErrors(state: RunState): string[] {
  if (state.recordErrorCount === 0) return [];
  const shown = state.recordErrors.length;
  const title =
    state.recordErrorCount > shown
      ? `Record errors (${formatCount(state.recordErrorCount)}, first ${shown} shown):`
      : `Record errors (${formatCount(state.recordErrorCount)}):`;
  return [title, ...state.recordErrors.map((e) => `  ${e.stepId}: ${oneLine(e.message)}`)];
}
