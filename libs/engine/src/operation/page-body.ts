import { errorMessage, isRetryable, type Page, type PageOperation, type PageResult } from '@junction/flow';
import { errorType } from '../errors.ts';
import { retryDelay, withRetry } from '../retry.ts';
import { sleep } from '../signals.ts';
import { callWithTimeout } from '../timeout.ts';
import { settleFailures, type Failed } from './failures.ts';
import { contextFor, operationInput, retryLogger, type PreparedOperation } from './prepare.ts';

/**
 * Runs a transform or destination page by page. A thrown error retries the page (retryable
 * errors, per `retry`); records the operation rejects as retryable are retried on their own.
 * An operation that returns more records than the run's page size (a CSV text parsed into its
 * rows) has them passed on in pages of that size, so the steps after it never get a larger page.
 */
export async function* pageBody(prepared: PreparedOperation): AsyncGenerator<Page> {
  const { env } = prepared;
  const size = env.scope.run.pageSize;
  const input = await operationInput(prepared);
  for (let page = await env.input.next(); page !== undefined; page = await env.input.next()) {
    env.tracker.received(page.length);
    const { records, failures } = await runPage(prepared, input, page);
    if (records.length <= size) {
      if (records.length > 0) yield records;
    } else for (let at = 0; at < records.length; at += size) yield records.slice(at, at + size);
    const fatal = yield* settleFailures(prepared, failures);
    if (fatal) throw fatal;
  }
}

async function runPage(
  prepared: PreparedOperation,
  input: unknown,
  page: Page,
): Promise<{ records: Page; failures: Failed[] }> {
  const { env } = prepared;
  const { step, tracker } = env;
  const onRetry = retryLogger(prepared);
  const first = await withRetry(step.retry, env.signal, () => call(prepared, input, page), onRetry);
  if (!first.ok) {
    if (step.onError === 'fail') throw first.error;
    // the step threw for the page: each of its records failed with that error
    const message = errorMessage(first.error);
    const type = errorType(first.error);
    return {
      records: [],
      failures: page.map((record) => ({
        record,
        message,
        attempt: first.attempts,
        retryable: first.retryable,
        type,
      })),
    };
  }
  let records = first.value.records;
  tracker.stats.ignored += first.value.ignored ?? 0;
  let pending: Failed[] = failedOf(first.value, page, first.attempts);
  const policy = step.retry;
  let attempt = first.attempts;
  while (policy && attempt < policy.attempts && pending.some((f) => f.retryable)) {
    const again = pending.filter((f) => f.retryable);
    const kept = pending.filter((f) => !f.retryable);
    const delay = retryDelay(policy, attempt);
    onRetry(
      `${again.length} record${again.length === 1 ? '' : 's'} failed: ${again[0].message}`,
      attempt,
      delay,
    );
    await sleep(delay, env.signal);
    attempt++;
    const subPage = again.map((f) => f.record);
    try {
      const result = await call(prepared, input, subPage);
      records = records.concat(result.records);
      tracker.stats.ignored += result.ignored ?? 0;
      pending = kept.concat(failedOf(result, subPage, attempt));
    } catch (error) {
      if (env.signal.aborted) throw error;
      const message = errorMessage(error);
      const retryable = isRetryable(error);
      const type = errorType(error);
      pending = kept.concat(again.map((f) => ({ ...f, message, retryable, attempt, type })));
    }
  }
  return { records, failures: pending };
}

function call(prepared: PreparedOperation, input: unknown, page: Page): Promise<PageResult> {
  const { env } = prepared;
  const op = prepared.op as PageOperation;
  return callWithTimeout(env.signal, env.step.timeoutMs, `step "${env.step.id}"`, (signal) =>
    op.execute(contextFor(prepared, signal), input, page),
  );
}

function failedOf(result: PageResult, page: Page, attempt: number): Failed[] {
  return (result.errors ?? []).map((f) => ({
    record: page[f.index] ?? {},
    message: f.message,
    retryable: f.retryable ?? false,
    attempt,
    type: 'RecordError',
  }));
}
