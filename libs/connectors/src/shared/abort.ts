/**
 * Runs `onAbort` once if the signal aborts while the returned handle is alive (immediately if it
 * already has). Dispose the handle when the guarded work ends, so no listener outlives it.
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): Disposable {
  if (signal.aborted) {
    onAbort();
    return { [Symbol.dispose]: () => undefined };
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return { [Symbol.dispose]: () => signal.removeEventListener('abort', onAbort) };
}

/** The abort reason as an Error, for rejecting work that was cancelled. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'The operation was aborted', 'AbortError');
}
