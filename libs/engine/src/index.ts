export { compileTemplate } from './expressions/compile.ts';
export { runFlow } from './run-flow.ts';
export type { RunOptions, RunResult } from './run-options.ts';
export { SharedResources, type SharedResourcesOptions } from './shared-resources.ts';
export { TimeoutError } from './errors.ts';
