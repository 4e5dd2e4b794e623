import { errorMessage, isRetryable, type RetryPolicy } from '@junction/flow';
import { sleep } from './signals.ts';

export type Attempted<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: unknown; attempts: number; retryable: boolean };

/**
 * Runs `call`, retrying retryable errors (isRetryable) as the policy says. Waits honour a
 * TransientError's retryAfterMs and end early when the signal aborts (then this rejects).
 */
export async function withRetry<T>(
  policy: RetryPolicy | undefined,
  signal: AbortSignal,
  call: (attempt: number) => Promise<T>,
  onRetry?: (message: string, attempt: number, delayMs: number) => void,
): Promise<Attempted<T>> {
  const max = policy?.attempts ?? 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await call(attempt), attempts: attempt };
    } catch (error) {
      if (signal.aborted) throw error;
      const retryable = isRetryable(error);
      if (!policy || !retryable || attempt >= max) return { ok: false, error, attempts: attempt, retryable };
      const delay = retryDelay(policy, attempt, error);
      onRetry?.(errorMessage(error), attempt, delay);
      await sleep(delay, signal);
    }
  }
}

/** The wait after the `failed`-th failed attempt. */
export function retryDelay(policy: RetryPolicy, failed: number, error?: unknown): number {
  const after = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof after === 'number' && Number.isFinite(after) && after >= 0) return after;
  let delay = policy.backoff === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** (failed - 1);
  if (policy.maxDelayMs !== undefined) delay = Math.min(delay, policy.maxDelayMs);
  // "equal jitter": spreads retries of many records or jobs without ever waiting (almost) zero
  if (policy.jitter) delay = delay / 2 + (Math.random() * delay) / 2;
  return Math.round(delay);
}
