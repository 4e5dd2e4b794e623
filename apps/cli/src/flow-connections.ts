import { formatPath, type Flow, type PathSegment } from '@junction/flow';

/** A step that names a connection from the connections file. */
export interface NamedConnectionUse {
  name: string;
  /** The connector the step uses (`database` of `database.query`). */
  connectorId: string;
  /** Where in the flow, e.g. `steps[1].try[0].connection`. */
  path: string;
}

const NESTED = ['then', 'else', 'do', 'try', 'catch', 'finally', 'fallback'] as const;

/** Every named (string) connection in the flow, onFailure and nested steps included. */
export function namedConnectionUses(flow: Flow): NamedConnectionUse[] {
  const uses: NamedConnectionUse[] = [];
  const walk = (steps: readonly unknown[] | undefined, at: PathSegment[]): void => {
    (steps ?? []).forEach((s, i) => {
      const step = s as Record<string, unknown>;
      const here = [...at, i];
      if (typeof step.use === 'string' && typeof step.connection === 'string') {
        uses.push({
          name: step.connection,
          connectorId: step.use.slice(0, step.use.indexOf('.')),
          path: formatPath([...here, 'connection']),
        });
      }
      for (const key of NESTED) {
        if (Array.isArray(step[key])) walk(step[key] as unknown[], [...here, key]);
      }
    });
  };
  walk(flow.steps, ['steps']);
  walk(flow.onFailure, ['onFailure']);
  return uses;
}
