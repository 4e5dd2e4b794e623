/**
 * Text PostgreSQL cannot store: a NUL character (in text or JSON), and in JSON an unpaired UTF-16
 * surrogate (half a character, e.g. an emoji cut in two), which jsonb and json_to_recordset refuse.
 * JavaScript strings can hold both; JSON carries them as the escapes \u0000 and \ud800-\udfff.
 */

/** Whether JSON text may hold unstorable text: a quick test before walking the parsed value. */
export function mayHoldUnstorable(json: string): boolean {
  return UNSTORABLE_ESCAPE.test(json);
}

const UNSTORABLE_ESCAPE = /\\u(0000|d[89a-f])/i;

export interface UnstorableAt {
  /** Where, as `a.b[2]` ('' for the value itself), with the offending characters escaped. */
  path: string;
  problem: string;
}

/** The first key or string of `value` holding unstorable text, if any. */
export function findUnstorable(value: unknown, path = ''): UnstorableAt | undefined {
  if (typeof value === 'string') {
    const problem = problemOf(value);
    return problem === undefined ? undefined : { path, problem };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const problem = problemOf(key);
    const name = problem === undefined ? key : escaped(key);
    const here = path === '' ? name : `${path}.${name}`;
    if (problem !== undefined) return { path: here, problem };
    const found = findUnstorable(item, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** What is wrong at `at`, to follow its path: "contains …, which cannot be stored". */
export function unstorableProblem(at: UnstorableAt): string {
  return `contains ${at.problem}, which cannot be stored`;
}

/** The client's message for unstorable text at `at`. */
export function unstorableMessage(at: UnstorableAt): string {
  return `${at.path === '' ? 'the body' : at.path} ${unstorableProblem(at)}`;
}

/** `value` with NULs dropped and unpaired surrogates replaced by U+FFFD, in every key and string. */
export function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storable);
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = storable(v);
  return out;
}

function storableText(text: string): string {
  return text.replaceAll('\u0000', '').toWellFormed();
}

function problemOf(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'an unpaired UTF-16 surrogate (half a character)';
  return undefined;
}

function escaped(key: string): string {
  // by code points: a pair stays as it is, a lone surrogate or a NUL is written as its escape
  return Array.from(key, (c) => {
    const code = c.charCodeAt(0);
    return c.length === 1 && (code === 0 || (code >= 0xd800 && code <= 0xdfff))
      ? `\\u${code.toString(16).padStart(4, '0')}`
      : c;
  }).join('');
}
