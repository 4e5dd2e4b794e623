import { errorMessage, type StepLogger } from '@junction/flow';

/**
 * Runs `work` for at most `ms`, never rejecting: a failure or running out of time is logged at
 * debug level with `what` and `fields`. For clean-up that must not hold a run up for long nor
 * fail it (stopping a statement on the server after a cancel).
 */
export async function bestEffortWithin(
  ms: number,
  work: () => Promise<void>,
  log: StepLogger,
  what: string,
  fields: Record<string, unknown>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log.debug(`${what} timed out`, fields);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([
      work().catch((e: unknown) => log.debug(`${what} failed`, { ...fields, error: errorMessage(e) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
