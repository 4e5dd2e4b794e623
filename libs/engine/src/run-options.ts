import type { ConnectorRegistry, FlowRecord } from '@junction/flow';
import type { RunError, RunEventSink, RunOutcome, StepStats } from '@junction/protocol';
import type { ConnectionLookup } from './connections.ts';
import type { SharedResources } from './shared-resources.ts';

export interface RunOptions {
  registry: ConnectorRegistry;
  /** Raw values, resolved with resolveParams(); bad ones make runFlow throw FlowValidationError before any event. */
  params?: Record<string, unknown>;
  trigger?: { payload?: unknown; headers?: Record<string, string>; query?: Record<string, string> };
  /** Resolves named connections (decrypted configs). */
  connections?: ConnectionLookup;
  /** Cancels the run: every running operation's signal aborts and the run ends `cancelled`. */
  signal?: AbortSignal;
  /** Receives every RunEvent. */
  onEvent?: RunEventSink;
  /** Start at this step with these records (retry of failed records); the steps before it are skipped. */
  resume?: { stepId: string; records: FlowRecord[] };
  job?: { id: string; attempt?: number; parentId?: string };
  /** Allow-listed environment, visible to templates as env.*. */
  env?: Record<string, string>;
  /** Merged under flow.settings. */
  settings?: Record<string, unknown>;
  /** Client pools reused across runs (the worker's); default: one per run, closed at its end. */
  shared?: SharedResources;
  /** Records per page when nothing in the settings says otherwise (default 1000). */
  pageSize?: number;
}

export interface RunResult {
  status: RunOutcome;
  error?: RunError;
  stats: Record<string, StepStats>;
  /** Records that failed (record.error events). */
  errorCount: number;
  durationMs: number;
  /** The last step's first output record. */
  output?: unknown;
}
