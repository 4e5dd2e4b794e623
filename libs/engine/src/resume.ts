import { FlowValidationError, stepKind, type Flow, type Step } from '@junction/flow';
import type { ResumePlan } from './scope.ts';

/**
 * Where a resumed run starts: a top-level step, or a step inside `if` branches or a `try` block
 * (the branch is taken without evaluating the condition). Inside `forEach` (the item is not
 * known), `catch`/`finally` (the error is not known) or a fallback it cannot resume.
 */
export function planResume(flow: Flow, stepId: string): ResumePlan {
  const found = locate(flow.steps, stepId);
  if (found.plan) return found.plan;
  const problem =
    found.problem ??
    (onFailureHas(flow.onFailure, stepId)
      ? `step "${stepId}" is an onFailure step; a run cannot resume there`
      : `no step "${stepId}" in the flow`);
  throw new FlowValidationError([{ path: 'resume.stepId', message: problem }]);
}

interface Found {
  plan?: ResumePlan;
  problem?: string;
}

function locate(steps: readonly Step[], stepId: string): Found {
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index];
    if (step.id === stepId) return { plan: { index } };
    for (const [key, inner] of children(step)) {
      if (!inner) continue;
      const found = locate(inner, stepId);
      if (found.problem) return found;
      if (!found.plan) continue;
      if (key === 'then' || key === 'else' || key === 'try')
        return { plan: { index, inner: { key, plan: found.plan } } };
      return {
        problem: `step "${stepId}" is inside the ${key === 'do' ? 'forEach' : key} of step "${step.id}"; a run can resume only at a top-level step or inside if/then/else and try blocks`,
      };
    }
  }
  return {};
}

function children(step: Step): [string, readonly Step[] | undefined][] {
  switch (stepKind(step)) {
    case 'connector':
      return [['fallback', (step as Extract<Step, { use: string }>).fallback]];
    case 'if': {
      const s = step as Extract<Step, { if: string }>;
      return [
        ['then', s.then],
        ['else', s.else],
      ];
    }
    case 'forEach':
      return [['do', (step as Extract<Step, { forEach: string }>).do]];
    case 'try': {
      const s = step as Extract<Step, { try: Step[] }>;
      return [
        ['try', s.try],
        ['catch', s.catch],
        ['finally', s.finally],
      ];
    }
  }
}

function onFailureHas(steps: readonly Step[] | undefined, stepId: string): boolean {
  return (steps ?? []).some(
    (s) => s.id === stepId || children(s).some(([, inner]) => onFailureHas(inner, stepId)),
  );
}
