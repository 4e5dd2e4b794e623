import { afterEach } from 'vitest';
import { compileTemplate } from '@junction/engine';
import type { Bindings, OperationContext, OperationDef, Page, PageResult } from '@junction/flow';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

export interface TestContext extends OperationContext {
  readonly logs: LogLine[];
  /** Closes what operations opened through ctx.shared, as the runner does at its end. */
  closeShared(): Promise<void>;
}

/** An OperationContext like the engine's, with the engine's own template compiler. */
export function opContext(
  options: { bindings?: Bindings; pageSize?: number; signal?: AbortSignal; stepId?: string } = {},
): TestContext {
  const bindings = options.bindings ?? { params: {}, steps: {} };
  const logs: LogLine[] = [];
  const opened = new Map<string, { value: Promise<unknown>; close: (value: never) => Promise<void> }>();
  const logger = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    logs.push(fields === undefined ? { level, message } : { level, message, fields });
  };
  return {
    stepId: options.stepId ?? 'step',
    connection: undefined,
    signal: options.signal ?? new AbortController().signal,
    log: { debug: logger('debug'), info: logger('info'), warn: logger('warn'), error: logger('error') },
    bindings,
    compile: (source, compileOptions) => compileTemplate(source, bindings, compileOptions),
    pageSize: options.pageSize ?? 1000,
    logs,
    shared<T>(key: string, open: () => Promise<T>, close: (value: T) => Promise<void>): Promise<T> {
      let entry = opened.get(key);
      if (!entry) {
        entry = { value: open(), close };
        opened.set(key, entry);
      }
      return entry.value as Promise<T>;
    },
    async closeShared() {
      for (const { value, close } of opened.values()) await close((await value) as never);
      opened.clear();
    },
  };
}

/** Makes contexts (as opContext) whose shared resources are closed after each test of the file. */
export function contextsClosedAfterEach(): (options?: Parameters<typeof opContext>[0]) => TestContext {
  const open: TestContext[] = [];
  afterEach(async () => {
    for (const ctx of open.splice(0)) await ctx.closeShared();
  });
  return (options = {}) => {
    const ctx = opContext(options);
    open.push(ctx);
    return ctx;
  };
}

/** Validates `with` through the operation's schema (as the engine does) and runs it on one page. */
export async function runPage(
  op: OperationDef,
  input: Record<string, unknown>,
  page: Page,
  ctx: OperationContext = opContext(),
): Promise<PageResult> {
  if (op.kind !== 'transform' && op.kind !== 'destination')
    throw new Error(`${op.name} is not a page operation`);
  return op.execute(ctx, op.input.parse(input), page);
}

/** The message zod gives for an input, as the flow validator would show it. */
export function inputProblems(op: OperationDef, input: Record<string, unknown>): string[] {
  const r = op.input.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(with)'}: ${i.message}`);
}
