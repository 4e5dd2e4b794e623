import { stepKind, type PathSegment, type Step } from '@junction/flow';
import { forEachStage } from './control/for-each.ts';
import { ifStage } from './control/if.ts';
import { tryStage } from './control/try.ts';
import { operationStage } from './operation/operation-stage.ts';
import type { PageStream } from './pipeline.ts';
import type { ResumePlan, Scope } from './scope.ts';

/** One step as a stage: pages in, pages out. `resume` is set when the run resumes inside it. */
export function runStep(
  step: Step,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
  resume?: ResumePlan['inner'],
): PageStream {
  const kind = stepKind(step);
  switch (kind) {
    case 'connector':
      return operationStage(step as Extract<Step, { use: string }>, path, input, scope);
    case 'if':
      return ifStage(step as Extract<Step, { if: string }>, path, input, scope, resume);
    case 'forEach':
      return forEachStage(step as Extract<Step, { forEach: string }>, path, input, scope);
    case 'try':
      return tryStage(step as Extract<Step, { try: Step[] }>, path, input, scope, resume);
  }
}
