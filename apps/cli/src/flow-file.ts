import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import {
  catalogOf,
  formatProblem,
  parseFlowText,
  validateFlow,
  type ConnectorRegistry,
  type Flow,
  type Problem,
} from '@junction/flow';
import { InputError } from './input-error.ts';

export interface LoadedFlow {
  flow: Flow;
  /** Absolute path of the flow file. */
  path: string;
}

export type FlowCheck = { ok: true; loaded: LoadedFlow } | { ok: false; problems: readonly Problem[] };

/** Reads, parses and validates a flow file against the connectors' schemas. */
export async function checkFlowFile(
  file: string,
  cwd: string,
  registry: ConnectorRegistry,
): Promise<FlowCheck> {
  const path = resolve(cwd, file);
  const text = await readText(path, file);
  const parsed = parseFlowText(text);
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  const result = validateFlow(parsed.value, { catalog: catalogOf(registry) });
  if (!result.ok) return { ok: false, problems: result.problems };
  return { ok: true, loaded: { flow: result.flow, path } };
}

/** Like checkFlowFile, but bad flows become an InputError naming the file. */
export async function loadFlowFile(
  file: string,
  cwd: string,
  registry: ConnectorRegistry,
): Promise<LoadedFlow> {
  const check = await checkFlowFile(file, cwd, registry);
  if (!check.ok) throw new InputError(problemLines(displayPath(file, cwd), check.problems));
  return check.loaded;
}

/** `flow.yaml: steps[2].with.sql: required`, one line per problem. */
export function problemLines(fileLabel: string, problems: readonly Problem[]): string[] {
  return problems.map((p) => `${fileLabel}: ${formatProblem(p)}`);
}

export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, file));
  return rel.startsWith('..') ? resolve(cwd, file) : rel;
}

export async function readText(path: string, label: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new InputError(`${label}: no such file`);
    if (code === 'EISDIR') throw new InputError(`${label}: is a directory, expected a file`);
    if (code === 'EACCES') throw new InputError(`${label}: permission denied`);
    throw new InputError(`${label}: cannot read (${code ?? 'unknown error'})`);
  }
}

/** Counts every step, nested ones (then/else, do, try/catch/finally, fallback, onFailure) included. */
export function countSteps(flow: Flow): number {
  const count = (steps: readonly unknown[] | undefined): number => {
    let n = 0;
    for (const s of steps ?? []) {
      n += 1;
      const step = s as Record<string, unknown>;
      for (const key of ['then', 'else', 'do', 'try', 'catch', 'finally', 'fallback']) {
        if (Array.isArray(step[key])) n += count(step[key] as unknown[]);
      }
    }
    return n;
  };
  return count(flow.steps) + count(flow.onFailure);
}
