import type { RecordErrorEvent, RunEvent, RunError, StepStats, StepStatus } from '@junction/protocol';

export interface StepView {
  id: string;
  use?: string;
  /** Nesting depth from the step's path (`steps[1].try[0]` is 1). */
  depth: number;
  status: StepStatus | 'running';
  stats: StepStats;
  startedAt: number;
  error?: RunError;
}

/** How many record errors the summary shows; the rest are counted. */
export const SHOWN_RECORD_ERRORS = 20;

/** What the renderers know of a run, built from its events. */
export class RunState {
  readonly steps = new Map<string, StepView>();
  readonly recordErrors: RecordErrorEvent[] = [];
  recordErrorCount = 0;
  startedAt: number | undefined;

  apply(event: RunEvent): StepView | undefined {
    switch (event.type) {
      case 'job.started':
        this.startedAt = event.at;
        return undefined;
      case 'step.started': {
        const step: StepView = {
          id: event.stepId,
          use: event.use,
          depth: depthOf(event.path),
          status: 'running',
          stats: this.steps.get(event.stepId)?.stats ?? {
            in: 0,
            out: 0,
            errors: 0,
            ignored: 0,
            durationMs: 0,
          },
          startedAt: event.at,
        };
        // a step inside forEach starts once per item: keep its first place in the order
        this.steps.delete(event.stepId);
        this.steps.set(event.stepId, step);
        return step;
      }
      case 'step.stats': {
        const step = this.stepFor(event.stepId, event.at);
        step.stats = event.stats;
        return step;
      }
      case 'step.finished': {
        const step = this.stepFor(event.stepId, event.at);
        step.status = event.status;
        step.stats = event.stats;
        step.error = event.error;
        return step;
      }
      case 'record.error':
        this.recordErrorCount += 1;
        if (this.recordErrors.length < SHOWN_RECORD_ERRORS) this.recordErrors.push(event);
        return undefined;
      case 'step.log':
      case 'job.finished':
        return undefined;
    }
  }

  running(): StepView[] {
    return [...this.steps.values()].filter((s) => s.status === 'running');
  }

  private stepFor(id: string, at: number): StepView {
    let step = this.steps.get(id);
    if (!step) {
      step = {
        id,
        depth: 0,
        status: 'running',
        stats: { in: 0, out: 0, errors: 0, ignored: 0, durationMs: 0 },
        startedAt: at,
      };
      this.steps.set(id, step);
    }
    return step;
  }
}

function depthOf(path: string): number {
  return Math.max(0, (path.match(/\]\./g) ?? []).length);
}

/** Records a step handled: what came in, or what it produced for a source. */
export function processed(stats: StepStats): number {
  return Math.max(stats.in, stats.out);
}
