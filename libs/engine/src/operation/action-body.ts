import { ConfigError, errorMessage, type ActionOperation, type FlowRecord, type Page } from '@junction/flow';
import { errorType } from '../errors.ts';
import { mapLimit } from '../concurrency.ts';
import { withRetry } from '../retry.ts';
import { callWithTimeout } from '../timeout.ts';
import { settleFailures, type Failed } from './failures.ts';
import { contextFor, operationInput, retryLogger, type PreparedOperation } from './prepare.ts';

type Outcome = { out: FlowRecord | FlowRecord[] | null } | { failed: Failed };

/**
 * Runs an action once per incoming record, `with` evaluated for that record, at most
 * `concurrency` records at a time, outputs in input order. A record that fails (its templates,
 * its input, or the call after retries) is a record failure; the rest of the page goes on.
 */
export async function* actionBody(prepared: PreparedOperation): AsyncGenerator<Page> {
  const { env } = prepared;
  const op = prepared.op as ActionOperation;
  const concurrency = await concurrencyOf(prepared, op);
  // without templates the input is the same for every record: parse it once
  const fixed = prepared.values.hasTemplates ? undefined : { input: await operationInput(prepared) };
  const onRetry = retryLogger(prepared);

  const runOne = async (record: FlowRecord): Promise<Outcome> => {
    let input: unknown;
    try {
      input = fixed ? fixed.input : await operationInput(prepared, record);
    } catch (error) {
      return {
        failed: {
          record,
          message: errorMessage(error),
          attempt: 1,
          retryable: false,
          type: errorType(error),
        },
      };
    }
    const r = await withRetry(
      env.step.retry,
      env.signal,
      () =>
        callWithTimeout(env.signal, env.step.timeoutMs, `step "${env.step.id}"`, (signal) =>
          op.execute(contextFor(prepared, signal), input, record),
        ),
      onRetry,
    );
    if (r.ok) return { out: r.value };
    return {
      failed: {
        record,
        message: errorMessage(r.error),
        attempt: r.attempts,
        retryable: r.retryable,
        type: errorType(r.error),
      },
    };
  };

  for (let page = await env.input.next(); page !== undefined; page = await env.input.next()) {
    env.tracker.received(page.length);
    const outcomes = await mapLimit(page, concurrency, runOne);
    const records: Page = [];
    const failures: Failed[] = [];
    for (const o of outcomes) {
      if ('failed' in o) failures.push(o.failed);
      else if (o.out === null || o.out === undefined) env.tracker.stats.ignored++;
      else if (Array.isArray(o.out)) for (const r of o.out) records.push(r);
      else records.push(o.out);
    }
    if (records.length > 0) yield records;
    const fatal = yield* settleFailures(prepared, failures);
    if (fatal) throw fatal;
  }
}

async function concurrencyOf(prepared: PreparedOperation, op: ActionOperation): Promise<number> {
  const raw = prepared.env.step.with.concurrency;
  if (raw === undefined) return op.concurrency ?? 1;
  const value: unknown = typeof raw === 'string' ? await prepared.ctx.compile(raw).evaluate() : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(
      `${prepared.env.where}.with.concurrency: expected a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
