import type { CompiledTemplate, OperationContext } from '@junction/flow';

/**
 * An object that identifies one execution of a step, for state kept across its pages. The
 * engine may hand each call a copy of the context (with that call's signal), but every copy
 * shares the step's `compile` function.
 */
export function stepKey(ctx: OperationContext): object {
  return ctx.compile;
}

// Templates are compiled on the first page of a step execution and reused for every later page.
const byStep = new WeakMap<object, Map<string, CompiledTemplate>>();

/** Compiles a raw-field template once per step execution. Syntax errors surface as ConfigError from ctx.compile. */
export function compiled(ctx: OperationContext, source: string, bare = false): CompiledTemplate {
  let cache = byStep.get(stepKey(ctx));
  if (!cache) {
    cache = new Map();
    byStep.set(stepKey(ctx), cache);
  }
  const key = `${bare ? 'bare' : 'template'}:${source}`;
  let template = cache.get(key);
  if (!template) {
    template = ctx.compile(source, { bare });
    cache.set(key, template);
  }
  return template;
}
