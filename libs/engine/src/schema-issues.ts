import { ConfigError, formatPath, type PathSegment } from '@junction/flow';

/** The part of a zod issue the messages need. */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: string;
  readonly keys?: readonly string[];
  readonly values?: readonly unknown[];
}

interface Schema {
  safeParse(
    value: unknown,
  ): { success: true; data: unknown } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/**
 * Parses a value with a connector's schema; on failure throws a ConfigError naming each field:
 * `steps[2].with.sql: expected string, got number`. With `reveal: false` (connections, which hold
 * secrets) messages never quote the value.
 */
export function parseWithSchema(
  schema: Schema,
  value: unknown,
  at: readonly PathSegment[],
  reveal = true,
): unknown {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const messages = r.error.issues.map((issue) => {
    const path = formatPath([...at, ...(issue.path.filter((p) => typeof p !== 'symbol') as PathSegment[])]);
    return `${path}: ${describeIssue(issue, valueAt(value, issue.path), reveal)}`;
  });
  throw new ConfigError(messages.join('; '));
}

function describeIssue(issue: SchemaIssue, here: unknown, reveal: boolean): string {
  if (issue.code === 'invalid_type') {
    if (here === undefined) return 'required';
    return `expected ${issue.expected ?? 'another type'}, got ${describe(here, reveal)}`;
  }
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_value' && issue.values) {
    const expected = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    return reveal ? `${expected}, got ${describe(here, true)}` : expected;
  }
  return issue.message;
}

function describe(v: unknown, reveal: boolean): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string' && reveal)
    return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}
