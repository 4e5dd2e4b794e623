import type { Bindings, ConnectorRegistry, FlowRecord, PathSegment, Step } from '@junction/flow';
import type { Block } from './block.ts';
import type { ConnectionSource } from './connections.ts';
import type { RunEvents } from './events.ts';
import type { PageStream } from './pipeline.ts';
import type { SharedResources } from './shared-resources.ts';
import type { DeferredFinishes, StepTrackers } from './stats.ts';

/** Where a resumed run starts inside a step list: the step at `index`, or a step nested in it. */
export interface ResumePlan {
  index: number;
  inner?: { key: 'then' | 'else' | 'try'; plan: ResumePlan };
}

export type RunSteps = (
  steps: readonly Step[],
  path: readonly PathSegment[],
  input: PageStream,
  scope: Scope,
  resume?: ResumePlan,
) => PageStream;

/** A record that failed in a step, as record.error reports it. */
export interface RecordFailure {
  /** The record as it entered the step. */
  record: FlowRecord;
  message: string;
  attempt: number;
  retryable: boolean;
}

/** What every step of one run shares. */
export interface RunContext {
  readonly registry: ConnectorRegistry;
  readonly events: RunEvents;
  readonly trackers: StepTrackers;
  readonly shared: SharedResources;
  readonly connections: ConnectionSource;
  readonly pageSize: number;
  /** Runs a step list as a pipeline; passed around so control steps need not import it (no cycle). */
  readonly runSteps: RunSteps;
  /** Reports a record error and counts it for the job. */
  recordError(stepId: string, failure: RecordFailure): void;
}

/** Where a step runs: its bindings (with `item`, `error` when in scope) and its abort block. */
export interface Scope {
  readonly run: RunContext;
  readonly bindings: Bindings;
  readonly block: Block;
  /** Set inside a loop (or a fallback): inner steps report step.finished once, at its end. */
  readonly deferred?: DeferredFinishes;
}

export function withBindings(scope: Scope, extra: Record<string, unknown>): Scope {
  return { ...scope, bindings: { ...scope.bindings, ...extra } };
}
