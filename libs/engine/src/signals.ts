import { abortReason } from './errors.ts';
import { stragglerBin } from './stragglers.ts';

const noop = (): void => undefined;

/**
 * Settles with the promise, or rejects as soon as the signal aborts: a connector that ignores its
 * signal cannot hold up cancellation. The abandoned promise's rejection is swallowed, and the run
 * gives it STRAGGLER_WAIT_MS to settle before it ends (stragglers.ts).
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // the run waits (bounded) for an abandoned operation to wind down before it ends
  const bin = stragglerBin();
  const abandon = (): void => {
    const settled = promise.catch(noop);
    if (bin) {
      bin.add(settled);
      void settled.then(() => bin.delete(settled));
    }
  };
  if (signal.aborted) {
    abandon();
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      abandon();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // the operation's own error, passed on unchanged
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}

/** Waits, unless the signal aborts first (then rejects with its reason). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
