import { z } from 'zod';

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|credential|private[-_]?key|auth/i;

/**
 * Fields of a connection schema marked `.meta({ secret: true })`, found through its JSON Schema
 * (which carries the metadata) so any schema shape works.
 */
export function secretFieldsOf(schema: z.ZodType | undefined): Set<string> {
  const fields = new Set<string>();
  if (!schema) return fields;
  let json: unknown;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return fields;
  }
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (typeof n.properties === 'object' && n.properties !== null) {
      for (const [key, sub] of Object.entries(n.properties as Record<string, unknown>)) {
        if (typeof sub === 'object' && sub !== null && (sub as { secret?: unknown }).secret === true)
          fields.add(key);
      }
    }
    for (const key of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(n[key])) n[key].forEach(visit);
  };
  visit(json);
  return fields;
}

/**
 * The secret strings in a connection config: values of fields the schema marks secret or whose
 * names say so (password, token, apiKey...), and passwords inside URLs. Output is scrubbed of them.
 */
export function secretValuesOf(config: Record<string, unknown>, secretFields: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const visit = (value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if (key !== undefined && (secretFields.has(key) || SECRET_KEY.test(key))) out.push(value);
      out.push(...urlPasswords(value));
    } else if (Array.isArray(value)) {
      for (const v of value) visit(v, key);
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(config, undefined);
  return out;
}

function urlPasswords(text: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(text)) return [];
  try {
    const password = new URL(text).password;
    if (password === '') return [];
    return [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}
