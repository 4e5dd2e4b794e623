import {
  errorMessage,
  FlowValidationError,
  resolveParams,
  type Flow,
  type FlowRecord,
  type Step,
} from '@junction/flow';
import type { RunError, RunOutcome } from '@junction/protocol';
import { Block } from './block.ts';
import { ConnectionSource } from './connections.ts';
import { TimeoutError, toRunError } from './errors.ts';
import { RunEvents } from './events.ts';
import type { PageStream } from './pipeline.ts';
import { planResume } from './resume.ts';
import type { RunOptions, RunResult } from './run-options.ts';
import { runSteps } from './run-steps.ts';
import type { RunContext, Scope } from './scope.ts';
import { SharedResources } from './shared-resources.ts';
import { StepTrackers } from './stats.ts';
import { withStragglers } from './stragglers.ts';
import { onePage, pagesOf } from './streams.ts';

const DEFAULT_PAGE_SIZE = 1000;

/**
 * Runs a flow: its steps in order as a pipeline of pages, from the trigger payload (or the
 * resume records) to the last step's output, reporting everything through options.onEvent.
 * Resolves with the outcome; throws only (FlowValidationError, before any event) when the
 * params or the resume point are wrong.
 *
 * The model, in short:
 * - the first step gets one page with one record: the trigger payload if it is an object, else `{}`;
 * - a source runs whatever came before it to the end, then streams its pages; transforms and
 *   destinations take a page and return one; actions run once per record (`with` per record);
 * - consecutive steps work at once on consecutive pages (see PagePump), memory stays bounded;
 * - a step starts when its first input page arrives (a source: when its input is drained), and
 *   its `with` is evaluated then, so it sees `steps.<id>` of the steps before it;
 * - a failing record is a record.error and the rest of the page goes on; `onError` decides
 *   whether the step (and the job) then fails, goes on, or hands the records to `fallback`;
 * - cancelling through options.signal aborts every running operation; the run ends `cancelled`.
 */
export async function runFlow(flow: Flow, options: RunOptions): Promise<RunResult> {
  // params and the resume point are checked before anything starts (and any event is sent)
  const { problems } = resolveParams(flow.params, options.params ?? {});
  if (problems.length > 0) throw new FlowValidationError(problems);
  if (options.resume) planResume(flow, options.resume.stepId);
  const { result, events } = await withStragglers(() => execute(flow, options));
  // sent once what a cancel abandoned has wound down: `cancelled` means stopped
  events.emit({ type: 'job.finished', ...result });
  return result;
}

async function execute(flow: Flow, options: RunOptions): Promise<{ result: RunResult; events: RunEvents }> {
  const steps = flow.steps;
  const onFailure = flow.onFailure;
  const { values: params, problems } = resolveParams(flow.params, options.params ?? {});
  if (problems.length > 0) throw new FlowValidationError(problems);
  const resumePlan = options.resume ? planResume(flow, options.resume.stepId) : undefined;

  const startedAt = performance.now();
  const events = new RunEvents(options.onEvent);
  const trackers = new StepTrackers(events);
  const settings: Record<string, unknown> = { ...options.settings, ...flow.settings };
  const pageSize =
    positiveInteger(settings.pageSize) ?? positiveInteger(options.pageSize) ?? DEFAULT_PAGE_SIZE;
  const shared =
    options.shared ??
    new SharedResources({
      onCloseError: (key, error) =>
        events.log(undefined, 'warn', `closing shared resource "${key}" failed: ${errorMessage(error)}`),
    });
  let errorCount = 0;
  const run: RunContext = {
    registry: options.registry,
    events,
    trackers,
    shared,
    connections: new ConnectionSource(options.connections),
    pageSize,
    runSteps,
    recordError(stepId, f) {
      errorCount++;
      events.emit({
        type: 'record.error',
        stepId,
        message: f.message,
        record: f.record,
        attempt: f.attempt,
        retryable: f.retryable,
      });
    },
  };
  const bindings = {
    params,
    steps: trackers.bindings,
    trigger: {
      payload: options.trigger?.payload,
      headers: options.trigger?.headers ?? {},
      query: options.trigger?.query ?? {},
    },
    settings,
    job: {
      id: options.job?.id,
      attempt: options.job?.attempt ?? 1,
      parentId: options.job?.parentId,
      flow: flow.name,
    },
    env: options.env ?? {},
  };

  events.emit({
    type: 'job.started',
    flow: flow.name,
    ...(options.resume ? { resumeAt: options.resume.stepId } : {}),
  });
  const root = new Block(options.signal);
  const jobTimeout = positiveInteger(settings.timeoutMs);
  const timer =
    jobTimeout === undefined
      ? undefined
      : setTimeout(
          () => root.abort(new TimeoutError(`the job ran longer than ${jobTimeout} ms`)),
          jobTimeout,
        );

  const input = options.resume
    ? pagesOf(options.resume.records, pageSize)
    : onePage(initialRecord(options.trigger?.payload));
  let status: RunOutcome;
  let error: RunError | undefined;
  let output: FlowRecord | undefined;
  try {
    output = await firstRecord(runSteps(steps, ['steps'], input, { run, bindings, block: root }, resumePlan));
    status = options.signal?.aborted ? 'cancelled' : 'completed';
  } catch (e) {
    if (options.signal?.aborted) status = 'cancelled';
    else {
      status = 'failed';
      const reason: unknown = root.signal.reason;
      error = toRunError(reason instanceof TimeoutError ? reason : e);
    }
  } finally {
    clearTimeout(timer);
    root.dispose();
  }

  if (status === 'failed' && error && onFailure && onFailure.length > 0) {
    await runOnFailure(onFailure, error, {
      run,
      bindings: { ...bindings, error },
      block: new Block(options.signal),
    });
  }
  trackers.skipTree(steps);
  if (!options.shared) await shared.closeAll();

  const result: RunResult = {
    status,
    ...(error ? { error } : {}),
    stats: trackers.stats(),
    errorCount,
    durationMs: Math.round(performance.now() - startedAt),
    ...(status === 'completed' && output !== undefined ? { output } : {}),
  };
  return { result, events };
}

/** The failure handlers: `error` in scope and as their single input record. Their own failure is logged. */
async function runOnFailure(steps: readonly Step[], error: RunError, scope: Scope): Promise<void> {
  try {
    await firstRecord(runSteps(steps, ['onFailure'], onePage({ ...error }), scope));
  } catch (e) {
    const failure = toRunError(e);
    scope.run.events.log(failure.stepId, 'error', `onFailure steps failed: ${failure.message}`);
  } finally {
    scope.block.dispose();
  }
}

async function firstRecord(stream: PageStream): Promise<FlowRecord | undefined> {
  let first: FlowRecord | undefined;
  for await (const page of stream) if (first === undefined && page.length > 0) first = page[0];
  return first;
}

function initialRecord(payload: unknown): FlowRecord {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? (payload as FlowRecord)
    : {};
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
