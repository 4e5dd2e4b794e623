import { errorMessage, isRetryable, type FlowRecord, type Page, type SourceOperation } from '@junction/flow';
import { Block } from '../block.ts';
import { errorType, TimeoutError } from '../errors.ts';
import { retryDelay } from '../retry.ts';
import { raceSignal, sleep } from '../signals.ts';
import { settleFailures } from './failures.ts';
import { contextFor, operationInput, retryLogger, type PreparedOperation } from './prepare.ts';

/**
 * Streams a source's pages. A retryable failure before the first page restarts the source (a
 * retry after pages went on would duplicate them); `timeoutMs` bounds each wait for a page.
 * Under onError continue/fallback a failure ends the stream, with the record that started the
 * source as the failed record.
 */
export async function* sourceBody(
  prepared: PreparedOperation,
  trigger: FlowRecord | undefined,
): AsyncGenerator<Page> {
  const { env } = prepared;
  const { step } = env;
  const op = prepared.op as SourceOperation;
  const input = await operationInput(prepared);
  const maxAttempts = step.retry?.attempts ?? 1;
  let produced = false;
  for (let attempt = 1; ; attempt++) {
    const call = new Block(env.signal);
    let it: AsyncIterator<Page> | undefined;
    let waiting = false;
    let done = false;
    try {
      it = op.execute(contextFor(prepared, call.signal), input)[Symbol.asyncIterator]();
      for (;;) {
        waiting = true;
        const r = await nextPage(it, call, step.timeoutMs);
        waiting = false;
        if (r.done) {
          done = true;
          return;
        }
        produced = true;
        yield r.value;
      }
    } catch (error) {
      done = true;
      if (env.signal.aborted) throw error;
      const retryable = isRetryable(error);
      if (!produced && step.retry && retryable && attempt < maxAttempts) {
        const delay = retryDelay(step.retry, attempt, error);
        retryLogger(prepared)(errorMessage(error), attempt, delay);
        await sleep(delay, env.signal);
        continue;
      }
      if (step.onError === 'fail') throw error;
      const fatal = yield* settleFailures(prepared, [
        { record: trigger ?? {}, message: errorMessage(error), attempt, retryable, type: errorType(error) },
      ]);
      if (fatal) throw fatal;
      return;
    } finally {
      if (it && !done) {
        // stopped early: let the source close its cursor. One still busy (abandoned after an
        // abort or a timeout) is told to return without waiting for it.
        if (waiting) it.return?.().catch(() => undefined);
        else await it.return?.();
      }
      call.dispose();
    }
  }
}

async function nextPage(
  it: AsyncIterator<Page>,
  call: Block,
  timeoutMs: number | undefined,
): Promise<IteratorResult<Page>> {
  if (timeoutMs === undefined) return raceSignal(it.next(), call.signal);
  const timer = setTimeout(
    () => call.abort(new TimeoutError(`waiting for a page timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    return await raceSignal(it.next(), call.signal);
  } catch (error) {
    const reason: unknown = call.signal.reason;
    throw reason instanceof TimeoutError ? reason : error;
  } finally {
    clearTimeout(timer);
  }
}
