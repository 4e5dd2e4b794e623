import { runFlow, type RunOptions, type RunResult } from '@junction/engine';
import { catalogOf, parseFlow, type ConnectorRegistry } from '@junction/flow';
import { loadConnectorRegistry } from '../../src/registry.ts';

export type RunEvent = Parameters<NonNullable<RunOptions['onEvent']>>[0];

let registry: Promise<ConnectorRegistry> | undefined;

/** The real registry: every connector folder, as the worker loads it. */
export function realRegistry(): Promise<ConnectorRegistry> {
  return (registry ??= loadConnectorRegistry());
}

/** Validates a flow document against the real connectors (as the API does) and runs it with runFlow. */
export async function runTestFlow(
  doc: Record<string, unknown>,
  options: Omit<RunOptions, 'registry' | 'onEvent'> = {},
): Promise<{ result: RunResult; events: RunEvent[] }> {
  const reg = await realRegistry();
  const flow = parseFlow({ name: 'test-flow', ...doc }, { catalog: catalogOf(reg) });
  const events: RunEvent[] = [];
  const result = await runFlow(flow, { ...options, registry: reg, onEvent: (e) => void events.push(e) });
  return { result, events };
}

export function eventsOf<T extends RunEvent['type']>(
  events: RunEvent[],
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}
