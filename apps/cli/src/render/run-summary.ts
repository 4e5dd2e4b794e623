import type { RunError, RunOutcome, StepStats } from '@junction/protocol';
import { formatCount, formatDuration, oneLine } from './format.ts';
import type { RunState } from './run-state.ts';
import { renderRecordErrors, renderStatsTable } from './stats-table.ts';

export interface RunSummary {
  status: RunOutcome;
  error?: RunError;
  stats: Record<string, StepStats>;
  errorCount: number;
  durationMs: number;
}

/** What is printed once a run ends: the stats table, the first record errors, the outcome. */
export function renderRunSummary(state: RunState, result: RunSummary): string[] {
  const lines = [''];
  const table = renderStatsTable(state, result.stats);
  if (table.length > 0) lines.push(...table, '');
  const errors = renderRecordErrors(state);
  if (errors.length > 0) lines.push(...errors, '');
  lines.push(outcomeLine(result));
  return lines;
}

export function outcomeLine(result: RunSummary): string {
  const took = formatDuration(result.durationMs);
  switch (result.status) {
    case 'completed':
      return result.errorCount > 0
        ? `✓ completed in ${took} with ${formatCount(result.errorCount)} record error${result.errorCount === 1 ? '' : 's'}`
        : `✓ completed in ${took}`;
    case 'failed': {
      const at = result.error?.stepId !== undefined ? ` at step ${result.error.stepId}` : '';
      const why = result.error ? `: ${oneLine(result.error.message)}` : '';
      return `✗ failed${at} after ${took}${why}`;
    }
    case 'cancelled':
      return `■ cancelled after ${took}`;
  }
}
