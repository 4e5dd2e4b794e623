import { abortReason, TimeoutError } from './errors.ts';
import { raceSignal } from './signals.ts';

/**
 * Runs one call to an operation with the step's signal, or, with a timeout, with a signal that
 * also aborts after `timeoutMs`: the call then fails with a (retryable) TimeoutError even when
 * the operation ignores its signal.
 */
export async function callWithTimeout<T>(
  signal: AbortSignal,
  timeoutMs: number | undefined,
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (timeoutMs === undefined) return raceSignal(call(signal), signal);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(abortReason(signal));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`${what} timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    return await raceSignal(call(controller.signal), controller.signal);
  } catch (error) {
    // an operation that honours its signal fails with its own AbortError: report the timeout
    const reason: unknown = controller.signal.reason;
    if (!signal.aborted && reason instanceof TimeoutError) throw reason;
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
