import type { Page, PathSegment, TryStep } from '@junction/flow';
import type { RunError } from '@junction/protocol';
import { toRunError } from '../errors.ts';
import type { PageStream } from '../pipeline.ts';
import { withBindings, type ResumePlan, type Scope } from '../scope.ts';
import { stepEnv, stepStream, type StepEnv } from '../step-lifecycle.ts';
import { onePage } from '../streams.ts';

/**
 * `try/catch/finally`. The try block gets the incoming stream and its output passes on as it
 * comes. When a step in it fails, `catch` runs with `error` ({message, stepId, type}) in scope
 * and as its single input record, and its output follows what the try block passed on before
 * failing. `finally` runs after both, whether they failed or not (its output is dropped); it
 * does not run when the run is cancelled or a later step's failure stops this one.
 * A failure that came from upstream is not this block's to catch.
 */
export function tryStage(
  step: TryStep,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
  resume?: ResumePlan['inner'],
): PageStream {
  const env = stepEnv(step, path, input, scope);
  return stepStream(env, () => tryBody(env, resume));
}

async function* tryBody(env: StepEnv<TryStep>, resume: ResumePlan['inner']): AsyncGenerator<Page> {
  const { step, scope, tracker } = env;
  const { run } = scope;
  await env.input.peek();
  tracker.begin(env.where);
  let failure: { error: unknown } | undefined;
  try {
    const stream = env.input.stream((page) => tracker.received(page.length));
    yield* run.runSteps(step.try, [...env.path, 'try'], stream, scope, resume?.plan);
  } catch (error) {
    failure = caught(env, error);
  }
  if (failure && step.catch) {
    const error = toRunError(failure.error);
    run.events.log(
      step.id,
      'info',
      `caught a failure${error.stepId ? ` of step "${error.stepId}"` : ''}: ${error.message}`,
    );
    try {
      yield* run.runSteps(
        step.catch,
        [...env.path, 'catch'],
        onePage({ ...error }),
        withBindings(scope, { error }),
      );
      failure = undefined;
    } catch (e) {
      failure = caught(env, e);
    }
  }
  if (step.finally) {
    const error: RunError | undefined = failure ? toRunError(failure.error) : undefined;
    try {
      const out = run.runSteps(
        step.finally,
        [...env.path, 'finally'],
        onePage(error ? { ...error } : {}),
        error ? withBindings(scope, { error }) : scope,
      );
      for await (const _ of out) {
        // finally's output is dropped: the step's output is the try's (or catch's)
      }
    } catch (e) {
      failure = caught(env, e);
    }
  }
  if (failure) throw failure.error;
}

/** A failure this step may handle; cancellations and upstream failures are thrown on. */
function caught(env: StepEnv, error: unknown): { error: unknown } {
  if (env.signal.aborted || error === env.input.failure) throw error;
  return { error };
}
