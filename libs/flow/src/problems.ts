/** One thing wrong with a flow, at a path users can find: `steps[2].with.sql: required`. */
export interface Problem {
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

export class FlowValidationError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(`invalid flow:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'FlowValidationError';
    this.problems = problems;
  }
}
