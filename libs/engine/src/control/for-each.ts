import {
  ConfigError,
  errorMessage,
  type FlowRecord,
  type ForEachStep,
  type Page,
  type PathSegment,
} from '@junction/flow';
import { compileTemplate } from '../expressions/compile.ts';
import type { PageStream } from '../pipeline.ts';
import type { Scope } from '../scope.ts';
import { flushDeferred, type DeferredFinishes } from '../stats.ts';
import { stepEnv, stepStream, type StepEnv } from '../step-lifecycle.ts';
import { onePage } from '../streams.ts';

/**
 * `forEach/do`, one iteration after the other; the output is the iterations' outputs in order.
 * - over a `{{ list }}`: the incoming stream runs to its end first (the list may depend on it,
 *   with `record` its first record); each item is bound as `item` (or the `as` name) and is the
 *   iteration's single input record when it is an object (else `{}`);
 * - `forEach: records`: `do` runs once per incoming record, with that record as its input (and
 *   as `item`).
 * Steps inside report one step.finished for all iterations, when the loop ends.
 */
export function forEachStage(
  step: ForEachStep,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
): PageStream {
  const env = stepEnv(step, path, input, scope);
  return stepStream(env, () => forEachBody(env));
}

async function* forEachBody(env: StepEnv<ForEachStep>): AsyncGenerator<Page> {
  const { step, scope, tracker } = env;
  const deferred: DeferredFinishes = scope.deferred ?? new Set();
  const iterate = (record: FlowRecord, item: unknown): PageStream =>
    scope.run.runSteps(step.do, [...env.path, 'do'], onePage(record), {
      ...scope,
      bindings: { ...scope.bindings, [step.as]: item },
      deferred,
    });
  try {
    if (step.forEach.trim() === 'records') {
      await env.input.peek();
      tracker.begin(env.where);
      for (let page = await env.input.next(); page !== undefined; page = await env.input.next()) {
        tracker.received(page.length);
        for (const record of page) yield* iterate(record, record);
      }
      return;
    }
    const drained = await env.input.drain();
    tracker.begin(env.where);
    tracker.received(drained.count);
    for (const item of await listOf(env, drained.first)) yield* iterate(isRecord(item) ? item : {}, item);
  } finally {
    if (deferred !== scope.deferred) flushDeferred(deferred);
  }
}

async function listOf(env: StepEnv<ForEachStep>, record: FlowRecord | undefined): Promise<unknown[]> {
  let value: unknown;
  try {
    value = await compileTemplate(env.step.forEach, env.scope.bindings, { bare: true }).evaluate(record);
  } catch (error) {
    throw new ConfigError(`${env.where}.forEach: ${errorMessage(error)}`, { cause: error });
  }
  // JSONata yields a lone match as the value itself, not as a list of one
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

function isRecord(value: unknown): value is FlowRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
