import type { FlowRecord } from '@junction/flow';

export type TextResult = { ok: true; text: string } | { ok: false; message: string };

/** Reads a field holding text (a string, or bytes from a file or HTTP body, taken as UTF-8). */
export function readText(record: FlowRecord, field: string): TextResult {
  const value = record[field];
  if (typeof value === 'string') return { ok: true, text: value };
  if (value instanceof Uint8Array) return { ok: true, text: Buffer.from(value).toString('utf8') };
  if (value === undefined || value === null)
    return { ok: false, message: `field "${field}" is missing (expected text)` };
  return { ok: false, message: `field "${field}" must be text, got ${describe(value)}` };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function isPlainRecord(value: unknown): value is FlowRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The record without one field, copied key by key (no `delete`, which slows V8 objects down). */
export function without(record: FlowRecord, field: string): FlowRecord {
  if (!Object.hasOwn(record, field)) return { ...record };
  const out: FlowRecord = {};
  for (const key of Object.keys(record)) if (key !== field) out[key] = record[key];
  return out;
}
