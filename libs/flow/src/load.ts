import { parseDocument } from 'yaml';
import type { Problem } from './problems.ts';

export type LoadResult = { ok: true; value: unknown } | { ok: false; problems: Problem[] };

/** Reads flow text written as YAML or JSON (YAML is a superset of JSON) into a plain value. */
export function parseFlowText(text: string): LoadResult {
  if (text.trim() === '') return { ok: false, problems: [{ path: '', message: 'the flow file is empty' }] };
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '',
        message: `${e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : ''}${e.message.split('\n')[0]}`,
      })),
    };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: [{ path: '', message: 'expected a flow object (name, steps, ...)' }] };
  }
  return { ok: true, value };
}
