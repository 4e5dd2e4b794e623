import type { FlowRecord, Page, Step } from '@junction/flow';
import { emptyStats, type RunError, type StepStats, type StepStatus } from '@junction/protocol';
import type { RunEvents } from './events.ts';

/** How often a running step reports its progress. */
export const STATS_INTERVAL_MS = 500;
/** How many output records `steps.<id>.records` keeps. */
export const BOUND_RECORDS = 100;

/** What templates see as `steps.<id>`. */
export interface StepBinding {
  /** The step's first output record. */
  output: FlowRecord | undefined;
  /** Its first output records (at most BOUND_RECORDS). */
  records: FlowRecord[];
  /** Live counts: what is done so far while the step runs, the totals after. */
  stats: StepStats;
}

/** Finishes collected while a loop runs, so a step inside it reports once, not once per item. */
export type DeferredFinishes = Set<StepTracker>;

type State = 'new' | 'running' | 'idle' | 'finished';
const SEVERITY: Record<StepStatus, number> = { skipped: 0, completed: 1, cancelled: 2, failed: 3 };

/**
 * Counts and events of one step id. A step may run more than once (in a loop, in a fallback);
 * its stats add up and, when the runs are deferred, one step.finished reports them all.
 */
export class StepTracker {
  readonly stepId: string;
  readonly stats: StepStats = emptyStats();
  private readonly events: RunEvents;
  private readonly steps: Record<string, StepBinding>;
  private state: State = 'new';
  private status: StepStatus = 'completed';
  private error: RunError | undefined;
  private runStartedAt = 0;
  private lastStatsAt = 0;
  private binding: StepBinding;

  constructor(stepId: string, events: RunEvents, steps: Record<string, StepBinding>) {
    this.stepId = stepId;
    this.events = events;
    this.steps = steps;
    this.binding = { output: undefined, records: [], stats: this.stats };
  }

  get started(): boolean {
    return this.state !== 'new' && !(this.state === 'finished' && this.status === 'skipped');
  }

  get running(): boolean {
    return this.state === 'running';
  }

  begin(path: string, use?: string): void {
    if (this.state === 'new' || this.state === 'finished') {
      this.status = 'completed';
      this.error = undefined;
      this.events.emit({ type: 'step.started', stepId: this.stepId, path, ...(use ? { use } : {}) });
    }
    this.state = 'running';
    this.runStartedAt = performance.now();
    this.lastStatsAt = this.runStartedAt;
    this.binding = { output: undefined, records: [], stats: this.stats };
    this.steps[this.stepId] = this.binding;
  }

  received(count: number): void {
    this.stats.in += count;
  }

  /** Counts a page the step passes on and keeps the first records for `steps.<id>`. */
  output(page: Page): void {
    this.stats.out += page.length;
    const kept = this.binding.records;
    if (kept.length < BOUND_RECORDS && page.length > 0) {
      if (kept.length === 0) this.binding.output = page[0];
      for (let i = 0; i < page.length && kept.length < BOUND_RECORDS; i++) kept.push(page[i]);
    }
    this.progress();
  }

  /** Emits step.stats at most every STATS_INTERVAL_MS. */
  progress(): void {
    const now = performance.now();
    if (now - this.lastStatsAt < STATS_INTERVAL_MS) return;
    this.lastStatsAt = now;
    this.events.emit({ type: 'step.stats', stepId: this.stepId, stats: this.snapshot(now) });
  }

  /** Ends the current run (no-op when none). Inside a loop the step.finished waits for the loop. */
  end(status: StepStatus, error?: RunError, deferred?: DeferredFinishes): void {
    if (this.state !== 'running') return;
    this.stats.durationMs += performance.now() - this.runStartedAt;
    if (SEVERITY[status] > SEVERITY[this.status]) {
      this.status = status;
      this.error = error;
    }
    if (deferred) {
      this.state = 'idle';
      deferred.add(this);
    } else this.finish();
  }

  /** Emits the step.finished of the runs so far. */
  finish(): void {
    if (this.state === 'finished' || this.state === 'new') return;
    this.state = 'finished';
    this.stats.durationMs = Math.round(this.stats.durationMs);
    this.events.emit({
      type: 'step.finished',
      stepId: this.stepId,
      status: this.status,
      stats: { ...this.stats },
      ...(this.error ? { error: this.error } : {}),
    });
  }

  /** Reports a step that did not run. */
  skip(): void {
    if (this.state !== 'new') return;
    this.state = 'finished';
    this.status = 'skipped';
    this.events.emit({ type: 'step.finished', stepId: this.stepId, status: 'skipped', stats: emptyStats() });
  }

  private snapshot(now: number): StepStats {
    const running = this.state === 'running' ? now - this.runStartedAt : 0;
    return { ...this.stats, durationMs: Math.round(this.stats.durationMs + running) };
  }
}

export class StepTrackers {
  private readonly events: RunEvents;
  /** The `steps` binding, shared by every scope of the run. */
  readonly bindings: Record<string, StepBinding> = {};
  private readonly byId = new Map<string, StepTracker>();

  constructor(events: RunEvents) {
    this.events = events;
  }

  get(stepId: string): StepTracker {
    let t = this.byId.get(stepId);
    if (!t) {
      t = new StepTracker(stepId, this.events, this.bindings);
      this.byId.set(stepId, t);
    }
    return t;
  }

  /** Reports every step of the tree that never ran as skipped. */
  skipTree(steps: readonly Step[] | undefined): void {
    for (const step of steps ?? []) {
      this.get(step.id).skip();
      for (const inner of childLists(step)) this.skipTree(inner);
    }
  }

  /** Stats of the steps that ran. */
  stats(): Record<string, StepStats> {
    const out: Record<string, StepStats> = {};
    for (const [id, t] of this.byId) {
      if (t.started) out[id] = { ...t.stats, durationMs: Math.round(t.stats.durationMs) };
    }
    return out;
  }
}

export function flushDeferred(deferred: DeferredFinishes): void {
  for (const t of deferred) t.finish();
  deferred.clear();
}

function childLists(step: Step): (readonly Step[] | undefined)[] {
  if ('use' in step) return [step.fallback];
  if ('if' in step) return [step.then, step.else];
  if ('forEach' in step) return [step.do];
  return [step.try, step.catch, step.finally];
}
