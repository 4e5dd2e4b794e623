import { formatPath, type Page, type PathSegment, type Step } from '@junction/flow';
import { abortReason, StepFailure, toRunError } from './errors.ts';
import type { PageStream } from './pipeline.ts';
import type { Scope } from './scope.ts';
import type { StepTracker } from './stats.ts';
import { InputReader } from './streams.ts';

/** One step at one place in the flow, running in its own abort block. */
export interface StepEnv<S extends Step = Step> {
  readonly step: S;
  readonly path: readonly PathSegment[];
  /** `steps[2].then[0]`, for events and messages. */
  readonly where: string;
  readonly scope: Scope;
  readonly tracker: StepTracker;
  readonly signal: AbortSignal;
  readonly input: InputReader;
}

export function stepEnv<S extends Step>(
  step: S,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
): StepEnv<S> {
  return {
    step,
    path,
    where: formatPath(path),
    scope,
    tracker: scope.run.trackers.get(step.id),
    signal: scope.block.signal,
    input: new InputReader(input, scope.block.signal),
  };
}

/**
 * Runs a step's body and keeps its books: counts and binds its output, ends it as completed,
 * failed or cancelled, and closes its input when it stops early. A step is failed by its own
 * errors only: one that came from upstream, or from an abort, ends it as cancelled.
 */
export async function* stepStream(env: StepEnv, body: () => AsyncIterable<Page>): PageStream {
  const { tracker, scope } = env;
  let ok = false;
  try {
    for await (const page of body()) {
      if (page.length === 0) continue;
      tracker.output(page);
      yield page;
    }
    // an operation may honour an abort by simply ending its stream: that is not a completion
    if (env.signal.aborted) throw abortReason(env.signal);
    ok = true;
  } catch (error) {
    if (env.signal.aborted) {
      tracker.end('cancelled', undefined, scope.deferred);
      throw abortReason(env.signal);
    }
    if (error === env.input.failure) {
      tracker.end('cancelled', undefined, scope.deferred);
      throw error;
    }
    const failure = StepFailure.from(env.step.id, error);
    tracker.end('failed', toRunError(failure), scope.deferred);
    throw failure;
  } finally {
    // no-ops when the step already ended
    if (ok) tracker.end('completed', undefined, scope.deferred);
    else tracker.end('cancelled', undefined, scope.deferred);
    await env.input.close();
  }
}
