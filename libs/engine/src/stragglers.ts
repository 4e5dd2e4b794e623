import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long a run, once its steps are over, waits for the operations its cancel or a timeout
 * abandoned: a connector that honours its signal stops its server-side work in that time (a
 * database cancel, a killed query), so the run ends with nothing left running; one that does not
 * is left behind after it.
 */
export const STRAGGLER_WAIT_MS = 3_000;

/** The operations abandoned in the current run (runFlow opens one per run). */
const current = new AsyncLocalStorage<Set<Promise<unknown>>>();

/** Runs `work` with a fresh straggler set, then waits (bounded) for what it abandoned. */
export async function withStragglers<T>(work: () => Promise<T>): Promise<T> {
  const abandoned = new Set<Promise<unknown>>();
  try {
    return await current.run(abandoned, work);
  } finally {
    await settleWithin(abandoned, STRAGGLER_WAIT_MS);
  }
}

/**
 * The set a promise abandoned now should go to; taken when the race starts (an abort listener
 * runs in the context of whoever aborted, not of the run).
 */
export function stragglerBin(): Set<Promise<unknown>> | undefined {
  return current.getStore();
}

async function settleWithin(promises: ReadonlySet<Promise<unknown>>, ms: number): Promise<void> {
  if (promises.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
