import { ConfigError, errorMessage, type IfStep, type Page, type PathSegment } from '@junction/flow';
import { compileTemplate } from '../expressions/compile.ts';
import type { PageStream } from '../pipeline.ts';
import type { ResumePlan, Scope } from '../scope.ts';
import { stepEnv, stepStream, type StepEnv } from '../step-lifecycle.ts';

/**
 * `if/then/else`: the condition is evaluated once, with `record` the first incoming record; the
 * taken branch gets the whole incoming stream and its output is the step's output. With no
 * branch to take, the input passes through.
 */
export function ifStage(
  step: IfStep,
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
  resume?: ResumePlan['inner'],
): PageStream {
  const env = stepEnv(step, path, input, scope);
  return stepStream(env, () => ifBody(env, resume));
}

async function* ifBody(env: StepEnv<IfStep>, resume: ResumePlan['inner']): AsyncGenerator<Page> {
  const { step, scope, tracker } = env;
  const first = await env.input.peek();
  tracker.begin(env.where);
  // a resumed run is already inside the branch it resumes in
  const key = resume ? resume.key : (await condition(env, first?.[0])) ? 'then' : 'else';
  const branch = key === 'then' ? step.then : key === 'else' ? step.else : undefined;
  const stream = env.input.stream((page) => tracker.received(page.length));
  if (!branch) {
    yield* stream;
    return;
  }
  yield* scope.run.runSteps(branch, [...env.path, key], stream, scope, resume?.plan);
}

async function condition(
  env: StepEnv<IfStep>,
  record: Record<string, unknown> | undefined,
): Promise<boolean> {
  try {
    const compiled = compileTemplate(env.step.if, env.scope.bindings, { bare: true });
    return truthy(await compiled.evaluate(record));
  } catch (error) {
    throw new ConfigError(`${env.where}.if: ${errorMessage(error)}`, { cause: error });
  }
}

/** JSONata's $boolean: empty strings, arrays, objects, 0, null and functions are false. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'function') return false;
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
