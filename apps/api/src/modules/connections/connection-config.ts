import { formatPath, type ConnectorManifest } from '@junction/flow';
import type { z } from 'zod';
import type { RequestProblem } from '../../common/error-body.ts';

export type ConfigCheck = { ok: true; value: unknown } | { ok: false; problems: RequestProblem[] };

/**
 * Validates `{type, ...config}` against the connector's connection schema, as flows' inline
 * connections are; problems are reported under `config.` (or at `type`).
 */
export function checkConnectionConfig(
  schema: z.ZodType,
  type: string,
  config: Record<string, unknown>,
): ConfigCheck {
  if ('type' in config)
    return {
      ok: false,
      problems: [{ path: 'config.type', message: 'give the type at the top level, not in config' }],
    };
  const input = { type, ...config };
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => issueProblem(issue, input)) };
}

function issueProblem(issue: z.core.$ZodIssue, input: Record<string, unknown>): RequestProblem {
  const at =
    issue.path.length === 1 && issue.path[0] === 'type' ? 'type' : formatPath(['config', ...issue.path]);
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_type' && value === undefined) return { path: at, message: 'required' };
  if (issue.code === 'invalid_type')
    return { path: at, message: `expected ${issue.expected}, got ${describe(value)}` };
  if (issue.code === 'unrecognized_keys')
    return {
      path: at,
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
    };
  return { path: at, message: issue.message };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Runs the connector's own connection test with a deadline; failures are answers, not errors. */
export async function testConnection(
  manifest: ConnectorManifest,
  connection: unknown,
  timeoutMs: number,
): Promise<{ ok: boolean; message: string; durationMs: number }> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (!manifest.test)
    return { ok: false, message: `the "${manifest.id}" connector cannot test connections`, durationMs: 0 };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      manifest.test(connection, controller.signal),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    return { ok: true, message: 'connected', durationMs: elapsed() };
  } catch (e) {
    return { ok: false, message: `cannot connect: ${errorText(e)}`, durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}

function errorText(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(errorText).join('; ');
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
