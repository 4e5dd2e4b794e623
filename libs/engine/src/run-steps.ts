import type { PathSegment, Step } from '@junction/flow';
import { PagePump, type PageStream } from './pipeline.ts';
import type { ResumePlan, Scope } from './scope.ts';
import { runStep } from './step-runner.ts';

/**
 * Runs a step list as a pipeline: each step is a stage reading the previous one's pages through
 * a pump, so all stages work at once on consecutive pages. The list is an abort block: when its
 * output fails or is abandoned, every step still running in it is aborted, and the list's
 * stream ends only once they have all stopped.
 */
export async function* runSteps(
  steps: readonly Step[],
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
  resume?: ResumePlan,
): PageStream {
  const block = scope.block.child();
  const start = resume?.index ?? 0;
  for (let i = 0; i < start; i++) scope.run.trackers.skipTree([steps[i]]);
  let stream = input;
  for (let i = start; i < steps.length; i++) {
    const stage = block.child();
    const output = runStep(
      steps[i],
      [...path, i],
      stream,
      { ...scope, block: stage },
      i === start ? resume?.inner : undefined,
    );
    stream = new PagePump(output, stage, block);
  }
  let ok = false;
  try {
    yield* stream;
    ok = true;
  } finally {
    if (!ok) block.abort();
    await block.settle();
    block.dispose();
  }
}
