import type { FlowRecord } from '@junction/flow';

/**
 * Bytes per chunk. The text is written straight into buffers rather than built as strings: a
 * page's text as one string would land in V8's large-object space, which only a full garbage
 * collection frees, and the strings would be copied to bytes again anyway. The buffers are
 * reused (see CopyText.release): fresh ones whose JavaScript handles outlive a young-generation
 * collection would hold their memory outside the heap until the next full one.
 */
const CHUNK_BYTES = 64 * 1024;
/** Buffers kept for reuse: a few pages' worth, enough for several writes at once. */
const MAX_SPARE = 32;
const spare: Buffer[] = [];
const TAB = 0x09;
const NEWLINE = 0x0a;

const NULL = '\\N';
const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * The rows in PostgreSQL's COPY text format (tab between columns, `\N` for NULL, backslash,
 * tab, newline and carriage return escaped), as UTF-8 chunks of about CHUNK_BYTES.
 *
 * Each value becomes the text the statement path (JSON through json_populate_recordset) hands
 * to the column's input function, so both paths store the same thing: numbers and booleans as
 * their JSON text (NaN and Infinity, which JSON has no form for, as NULL), dates as ISO text,
 * bigints as decimal text, bytes as `\x` hex, objects and arrays as JSON text. Returns undefined
 * when some value cannot be sent that way (a string that is not well-formed UTF-16, a value
 * JSON.stringify rejects): the caller then uses the statement path, which reports it as before.
 */
export function encodeCopyText(
  rows: readonly FlowRecord[],
  columns: readonly string[],
): CopyText | undefined {
  const buffers: Buffer[] = [];
  const chunks: Buffer[] = [];
  const text: CopyText = {
    chunks,
    release() {
      for (const b of buffers) if (b.length === CHUNK_BYTES && spare.length < MAX_SPARE) spare.push(b);
      buffers.length = 0;
    },
  };
  let buf = take(CHUNK_BYTES, buffers);
  let at = 0;
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      const value = copyValue(row[columns[i]]);
      if (value === undefined) {
        text.release();
        return undefined;
      }
      // room for the value in the worst case (3 UTF-8 bytes per UTF-16 unit) and its separator
      const room = value.length * 3 + 1;
      if (at + room > buf.length) {
        if (at > 0) chunks.push(buf.subarray(0, at));
        buf = take(room, buffers);
        at = 0;
      }
      at += buf.write(value, at);
      buf[at++] = i === columns.length - 1 ? NEWLINE : TAB;
    }
  }
  if (at > 0) chunks.push(buf.subarray(0, at));
  return text;
}

export interface CopyText {
  /** The COPY data, in order. */
  readonly chunks: readonly Buffer[];
  /**
   * Gives the buffers back for reuse. Only once the data is known to be sent (the COPY
   * completed): after a failure some may still wait in the socket's queue.
   */
  release(): void;
}

function take(room: number, owned: Buffer[]): Buffer {
  const buf = (room <= CHUNK_BYTES && spare.pop()) || Buffer.allocUnsafe(Math.max(CHUNK_BYTES, room));
  owned.push(buf);
  return buf;
}

/** One value as COPY text (escaped), or undefined when it has no faithful form. */
function copyValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? escape(value) : undefined;
    case 'number':
      return Number.isFinite(value) ? String(value) : NULL;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return NULL;
    case 'object':
      if (value === null) return NULL;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? NULL : value.toISOString();
      if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
      return jsonValue(value);
  }
}

/** Anything else as JSON.stringify writes it (toJSON honoured), a JSON string as its text. */
function jsonValue(value: object): string | undefined {
  let json: unknown; // undefined for a value JSON skips (a toJSON returning undefined)
  try {
    json = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (typeof json !== 'string' || json === 'null') return NULL;
  if (json.startsWith('"')) return copyValue(JSON.parse(json));
  return escape(json);
}

function escape(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : text;
}
