import type { ConnectorStep, Page, PathSegment } from '@junction/flow';
import type { PageStream } from '../pipeline.ts';
import type { Scope } from '../scope.ts';
import { flushDeferred } from '../stats.ts';
import { stepEnv, stepStream, type StepEnv } from '../step-lifecycle.ts';
import { actionBody } from './action-body.ts';
import { checkFallback } from './failures.ts';
import { pageBody } from './page-body.ts';
import { findOperation, finishOperation, prepareOperation } from './prepare.ts';
import { sourceBody } from './source-body.ts';

/**
 * A `use:` step as a pipeline stage. It starts when its input has a first page (a source: when
 * its input has run to the end), so steps start in flow order and `with` sees the output of the
 * steps before it.
 */
export function operationStage(
  step: ConnectorStep,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
): PageStream {
  const env = stepEnv(step, path, input, scope);
  return stepStream(env, () => operationBody(env));
}

async function* operationBody(env: StepEnv<ConnectorStep>): AsyncGenerator<Page> {
  let found: ReturnType<typeof findOperation> | undefined;
  let lookupError: unknown;
  try {
    found = findOperation(env);
  } catch (error) {
    lookupError = error;
  }
  const drained = found?.op.kind === 'source' ? await env.input.drain() : undefined;
  if (!drained) await env.input.peek();
  env.tracker.begin(env.where, env.step.use);
  if (!found) throw lookupError;
  if (drained) env.tracker.received(drained.count);
  checkFallback(env.step, env.where);

  const prepared = await prepareOperation(env, found.connector, found.op);
  try {
    switch (found.op.kind) {
      case 'source':
        yield* sourceBody(prepared, drained?.first);
        break;
      case 'transform':
      case 'destination':
        yield* pageBody(prepared);
        break;
      case 'action':
        yield* actionBody(prepared);
        break;
    }
  } finally {
    finishOperation(prepared);
    if (prepared.fallbackFinishes !== env.scope.deferred) flushDeferred(prepared.fallbackFinishes);
  }
}
