/** Longest wait this step sleeps through itself; a longer Retry-After is left to the engine. */
export const MAX_WAIT_MS = 60_000;

/**
 * Milliseconds a Retry-After header asks for: delta-seconds or an HTTP-date. Undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with jitter: about base·2^attempt, capped, so clients do not retry in step. */
export function backoffMs(attempt: number, baseMs: number): number {
  const exp = Math.min(baseMs * 2 ** attempt, 30_000);
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}
