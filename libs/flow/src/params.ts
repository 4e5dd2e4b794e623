import { z } from 'zod';

export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'json'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export const ParamSpecSchema = z
  .strictObject({
    type: z.enum(PARAM_TYPES).default('string'),
    description: z.string().optional(),
    required: z.boolean().default(false),
    default: z.unknown().optional(),
  })
  .meta({ description: 'A typed flow parameter' });
export type ParamSpec = z.output<typeof ParamSpecSchema>;

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ParamProblem {
  path: string;
  message: string;
}

/**
 * Coerces raw parameter values (strings from a CLI or a query string, or JSON values from an API
 * body) to the declared types, applies defaults and reports every problem at once.
 */
export function resolveParams(
  specs: Record<string, ParamSpec>,
  raw: Record<string, unknown>,
): { values: Record<string, unknown>; problems: ParamProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: ParamProblem[] = [];
  for (const name of Object.keys(raw)) {
    if (!(name in specs)) problems.push({ path: `params.${name}`, message: `unknown parameter "${name}"` });
  }
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw[name];
    if (given === undefined || given === null || given === '') {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (spec.required) problems.push({ path: `params.${name}`, message: 'required' });
      continue;
    }
    const coerced = coerceParam(spec.type, given);
    if (coerced.ok) values[name] = coerced.value;
    else problems.push({ path: `params.${name}`, message: coerced.message });
  }
  return { values, problems };
}

type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

export function coerceParam(type: ParamType, value: unknown): Coerced {
  const got = describe(value);
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false, message: `expected a string, got ${got}` };
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n === 'number' && Number.isSafeInteger(n)) return { ok: true, value: n };
      return { ok: false, message: `expected an integer, got ${got}` };
    }
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n === 'number' && Number.isFinite(n)) return { ok: true, value: n };
      return { ok: false, message: `expected a number, got ${got}` };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 'true' || value === '1') return { ok: true, value: true };
      if (value === 'false' || value === '0') return { ok: true, value: false };
      return { ok: false, message: `expected a boolean (true or false), got ${got}` };
    case 'date': {
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
        const d = new Date(value);
        if (!Number.isNaN(d.getTime())) return { ok: true, value };
      }
      return {
        ok: false,
        message: `expected an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z, got ${got}`,
      };
    }
    case 'json':
      if (typeof value === 'string') {
        try {
          return { ok: true, value: JSON.parse(value) as unknown };
        } catch {
          return { ok: false, message: `expected JSON, got text that does not parse: ${truncate(value)}` };
        }
      }
      return { ok: true, value };
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${truncate(value)}"`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
