import { parseFlowText } from '@junction/flow';
import { stringify } from 'yaml';
import { invalidRequest } from '../../common/error-body.ts';
import { findUnstorable, unstorableProblem } from '../../common/storable-text.ts';
import type { SourceFormat } from './flow-version.entity.ts';

export interface FlowDocument {
  value: Record<string, unknown>;
  source: string;
  format: SourceFormat;
}

/** A flow request body: a JSON object, or YAML text (the YAML body parser hands it over as a string). */
export function readFlowBody(body: unknown): FlowDocument {
  if (typeof body === 'string') {
    const loaded = parseFlowText(body);
    if (!loaded.ok) throw invalidRequest('body is not a valid YAML flow', loaded.problems);
    // YAML escapes (\0, \ud83d) give text PostgreSQL cannot store, as JSON bodies can (refused there)
    const at = findUnstorable(loaded.value);
    if (at !== undefined)
      throw invalidRequest('body is not a valid YAML flow', [
        { path: at.path, message: unstorableProblem(at) },
      ]);
    return { value: loaded.value as Record<string, unknown>, source: body, format: 'yaml' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidRequest('invalid flow', [
      {
        path: '',
        message:
          body === undefined
            ? 'a flow is required: send it as JSON, or as YAML with content-type application/yaml'
            : 'expected a flow object (name, steps, ...)',
      },
    ]);
  return {
    value: body as Record<string, unknown>,
    source: `${JSON.stringify(body, null, 2)}\n`,
    format: 'json',
  };
}

/** The stored source in the format asked for: itself when the format matches, else converted. */
export function renderFlow(source: string, sourceFormat: SourceFormat, format: SourceFormat): string {
  if (format === sourceFormat) return source;
  const loaded = parseFlowText(source);
  // stored sources were parsed when saved; this cannot fail unless the row was edited by hand
  if (!loaded.ok) throw new Error(`stored flow source no longer parses: ${loaded.problems[0]?.message}`);
  return format === 'yaml'
    ? stringify(loaded.value, { lineWidth: 0 })
    : `${JSON.stringify(loaded.value, null, 2)}\n`;
}
