import { ConfigError, type ConnectorStep, type Page } from '@junction/flow';
import { StepFailure } from '../errors.ts';
import type { RecordFailure } from '../scope.ts';
import { pagesOf } from '../streams.ts';
import type { PreparedOperation } from './prepare.ts';

/** A failed record, with the class name of what failed it (for the step's error if it fails). */
export interface Failed extends RecordFailure {
  type: string;
}

/**
 * Applies the step's onError to the records that failed in one page:
 * - fail: report them and return the step's failure (thrown after the page's good records);
 * - continue: report them and go on;
 * - fallback: run the fallback steps with them as input and `error` in scope, passing their
 *   output on with the step's. They are logged, not reported as record errors: the fallback handled them.
 */
export async function* settleFailures(
  prepared: PreparedOperation,
  failures: readonly Failed[],
): AsyncGenerator<Page, StepFailure | undefined> {
  if (failures.length === 0) return undefined;
  const { env } = prepared;
  const step: ConnectorStep = env.step;
  const { run } = env.scope;
  const first = failures[0];
  if (step.onError === 'fallback' && step.fallback && step.fallback.length > 0) {
    run.events.log(
      step.id,
      'warn',
      `${failures.length} record${failures.length === 1 ? '' : 's'} failed, running the fallback: ${first.message}`,
    );
    const error = { message: first.message, stepId: step.id, type: first.type };
    const scope = {
      ...env.scope,
      bindings: { ...env.scope.bindings, error },
      deferred: prepared.fallbackFinishes,
    };
    const records = failures.map((f) => f.record);
    yield* run.runSteps(step.fallback, [...env.path, 'fallback'], pagesOf(records, run.pageSize), scope);
    return undefined;
  }
  for (const f of failures) {
    env.tracker.stats.errors++;
    run.recordError(step.id, f);
  }
  if (step.onError !== 'fail') return undefined;
  const message =
    failures.length === 1 ? first.message : `${failures.length} records failed; the first: ${first.message}`;
  return new StepFailure(step.id, message, failures.length === 1 ? first.type : 'RecordError');
}

export function checkFallback(step: ConnectorStep, where: string): void {
  if (step.onError === 'fallback' && !(step.fallback && step.fallback.length > 0)) {
    throw new ConfigError(`${where}.fallback: required when onError is "fallback"`);
  }
}
