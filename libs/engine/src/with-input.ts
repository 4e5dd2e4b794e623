import {
  ConfigError,
  errorMessage,
  formatPath,
  hasTemplate,
  type CompileFn,
  type CompiledTemplate,
  type FlowRecord,
  type PathSegment,
} from '@junction/flow';

type Node =
  | { kind: 'constant'; value: unknown }
  | { kind: 'template'; template: CompiledTemplate; path: readonly PathSegment[] }
  | { kind: 'object'; entries: [string, Node][] }
  | { kind: 'array'; items: Node[] };

/** A step's `with` (or an inline connection) with its templates compiled once. */
export interface CompiledValues {
  /** False when nothing needs evaluating: evaluate() returns the value as written. */
  readonly hasTemplates: boolean;
  /** Evaluates the templates (with `record` bound when given); a failure names the field. */
  evaluate(record?: FlowRecord): Promise<Record<string, unknown>>;
}

/**
 * Compiles every `{{ }}` in a value tree, except under `rawFields` (top-level keys the operation
 * compiles and evaluates itself). Syntax errors throw a ConfigError naming the field.
 */
export function compileValues(
  raw: Record<string, unknown>,
  compile: CompileFn,
  at: readonly PathSegment[],
  rawFields: readonly string[] = [],
): CompiledValues {
  const skip = new Set(rawFields);
  const root = compileNode(raw, at, compile, (key, depth) => depth === 0 && skip.has(key));
  const hasTemplates = root.kind !== 'constant';
  return {
    hasTemplates,
    evaluate: async (record) =>
      (hasTemplates ? await evaluateNode(root, record) : raw) as Record<string, unknown>,
  };
}

function compileNode(
  value: unknown,
  at: readonly PathSegment[],
  compile: CompileFn,
  isRaw: (key: string, depth: number) => boolean,
  depth = 0,
): Node {
  if (hasTemplate(value)) {
    try {
      return { kind: 'template', template: compile(value), path: at };
    } catch (error) {
      throw new ConfigError(`${formatPath(at)}: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (Array.isArray(value)) {
    const items = value.map((v: unknown, i) => compileNode(v, [...at, i], compile, isRaw, depth + 1));
    return items.every((n) => n.kind === 'constant') ? { kind: 'constant', value } : { kind: 'array', items };
  }
  if (typeof value === 'object' && value !== null) {
    const entries: [string, Node][] = Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      isRaw(k, depth)
        ? { kind: 'constant', value: v }
        : compileNode(v, [...at, k], compile, isRaw, depth + 1),
    ]);
    return entries.every(([, n]) => n.kind === 'constant')
      ? { kind: 'constant', value }
      : { kind: 'object', entries };
  }
  return { kind: 'constant', value };
}

async function evaluateNode(node: Node, record: FlowRecord | undefined): Promise<unknown> {
  switch (node.kind) {
    case 'constant':
      return node.value;
    case 'template':
      try {
        return await node.template.evaluate(record);
      } catch (error) {
        throw new ConfigError(`${formatPath(node.path)}: ${errorMessage(error)}`, { cause: error });
      }
    case 'array': {
      const out: unknown[] = [];
      for (const item of node.items) out.push(await evaluateNode(item, record));
      return out;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, n] of node.entries) {
        const v = await evaluateNode(n, record);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
  }
}
