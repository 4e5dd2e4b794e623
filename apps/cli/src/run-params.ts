import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatProblem, resolveParams, type Flow } from '@junction/flow';
import { displayPath, readText } from './flow-file.ts';
import { InputError } from './input-error.ts';

/** `--param name=value`, repeated: raw strings, coerced later by the flow's declared types. */
export function parseParamArgs(args: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      problems.push(`--param ${JSON.stringify(arg)}: expected name=value, e.g. --param since=2026-01-31`);
      continue;
    }
    values[arg.slice(0, eq).trim()] = arg.slice(eq + 1);
  }
  if (problems.length > 0) throw new InputError(problems);
  return values;
}

/** `--params-file F`: a YAML or JSON map of parameter name → value. */
export async function readParamsFile(file: string, cwd: string): Promise<Record<string, unknown>> {
  const label = displayPath(file, cwd);
  const text = await readText(resolve(cwd, file), label);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    throw new InputError(`${label}: ${at}${e.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${label}: expected a map of parameter name → value`);
  }
  return value as Record<string, unknown>;
}

/**
 * Checks params against the flow's declarations up front, so bad params are reported with the
 * other input problems; the engine resolves the same raw values again.
 */
export function paramProblems(flow: Flow, raw: Record<string, unknown>): string[] {
  return resolveParams(flow.params, raw).problems.map(formatProblem);
}
