import type { JobPayload, RunEvent, RunOutcome } from '@junction/protocol';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  contextOfCarrier,
  trace,
  type Context,
  type Span,
} from '@junction/telemetry';

const tracer = trace.getTracer('junction-worker');

/**
 * The spans of one run: `junction.job.run`, a child of the span that created the job (its
 * context travels in the payload), and a `junction.step <id>` span per step execution, made from
 * the run's events (the engine knows nothing of tracing). No-op spans when tracing is off.
 */
export class RunTrace {
  private readonly job: Span;
  /** The parent of the step spans. */
  private readonly jobContext: Context;
  private readonly steps = new Map<string, Span>();
  private error: string | undefined;

  constructor(payload: JobPayload, workerId: string) {
    this.job = tracer.startSpan(
      'junction.job.run',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'junction.job.id': payload.jobId,
          'junction.flow.id': payload.flowId,
          'junction.flow.version_id': payload.flowVersionId,
          'junction.job.attempt': payload.attempt,
          'junction.worker.id': workerId,
        },
      },
      contextOfCarrier(payload.trace),
    );
    this.jobContext = trace.setSpan(ROOT_CONTEXT, this.job);
  }

  /** Follows the run's events: step spans start and end with their steps. */
  onEvent(event: RunEvent): void {
    if (!this.job.isRecording()) return;
    if (event.type === 'job.finished') {
      this.error = event.error?.message;
    } else if (event.type === 'step.started') {
      this.steps.get(event.stepId)?.end(event.at);
      this.steps.set(
        event.stepId,
        tracer.startSpan(
          `junction.step ${event.stepId}`,
          {
            startTime: event.at,
            attributes: {
              'junction.step.id': event.stepId,
              ...(event.use ? { 'junction.step.use': event.use } : {}),
            },
          },
          this.jobContext,
        ),
      );
    } else if (event.type === 'step.finished') {
      const span = this.steps.get(event.stepId);
      if (!span) return;
      this.steps.delete(event.stepId);
      span.setAttributes({
        'junction.step.status': event.status,
        'junction.records.in': event.stats.in,
        'junction.records.out': event.stats.out,
        'junction.records.errors': event.stats.errors,
      });
      if (event.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(event.at);
    }
  }

  /** Ends the run's span (and any step span its events left open). */
  end(outcome: RunOutcome | 'handed_back'): void {
    for (const span of this.steps.values()) span.end();
    this.steps.clear();
    this.job.setAttribute('junction.job.outcome', outcome);
    if (outcome === 'failed') this.job.setStatus({ code: SpanStatusCode.ERROR, message: this.error });
    this.job.end();
  }
}
