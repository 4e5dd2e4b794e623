/**
 * Tiny connectors that exercise the engine (not a peer's code): a counting source, a doubling
 * transform, a collecting destination that can reject records, actions that echo, wait, fail or
 * fail a few times. Each test builds its own registry, so their state never leaks between tests.
 */
import { z } from 'zod';
import {
  catalogOf,
  ConfigError,
  defineConnector,
  defineOperation,
  parseFlow,
  TransientError,
  type ConnectorManifest,
  type ConnectorRegistry,
  type Flow,
  type FlowInput,
  type FlowRecord,
  type Page,
} from '@junction/flow';
import type { RunEvent } from '@junction/protocol';
import { SharedResources, runFlow, type RunOptions, type RunResult } from '@junction/engine';

export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What the test connectors saw, for assertions. */
export class Probe {
  /** Records each `test.collect` step wrote, by its `name`. */
  readonly written = new Map<string, FlowRecord[]>();
  /** Calls per key (flaky ops, echo). */
  readonly calls = new Map<string, number>();
  /** Signals the slow operations received, to check they were aborted. */
  readonly signals: AbortSignal[] = [];
  /** Times (ms since start) at which pages were produced / written. */
  readonly timeline: { what: string; at: number }[] = [];
  readonly start = performance.now();
  /** In-flight count of the slow action, and the highest it reached. */
  inFlight = 0;
  maxInFlight = 0;

  count(key: string): number {
    const n = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, n);
    return n;
  }

  mark(what: string): void {
    this.timeline.push({ what, at: performance.now() - this.start });
  }

  written_(name: string): FlowRecord[] {
    let list = this.written.get(name);
    if (!list) this.written.set(name, (list = []));
    return list;
  }
}

export function testConnector(probe: Probe): ConnectorManifest {
  return defineConnector({
    id: 'test',
    title: 'Test',
    version: '1.0.0',
    operations: {
      count: defineOperation({
        name: 'count',
        title: 'Count',
        kind: 'source',
        input: z.strictObject({
          count: z.number().int().min(0),
          pageSize: z.number().int().min(1).optional(),
          delayMs: z.number().int().min(0).default(0),
          /** Fail (TransientError) before the first page on the first N runs. */
          failFirst: z.number().int().min(0).default(0),
          /** Throw this message after this many pages. */
          failAfterPages: z.number().int().min(0).optional(),
        }),
        async *execute(ctx, input) {
          const run = probe.count(`count:${ctx.stepId}`);
          if (run <= input.failFirst) throw new TransientError(`source unavailable (run ${run})`);
          const size = input.pageSize ?? ctx.pageSize;
          probe.signals.push(ctx.signal);
          let pages = 0;
          for (let i = 0; i < input.count; i += size) {
            if (input.failAfterPages !== undefined && pages === input.failAfterPages) {
              throw new Error('source broke mid-stream');
            }
            if (input.delayMs > 0) await wait(input.delayMs, ctx.signal);
            if (ctx.signal.aborted) return;
            const page: Page = [];
            for (let n = i; n < Math.min(i + size, input.count); n++) page.push({ n });
            probe.mark(`read ${pages}`);
            pages++;
            yield page;
          }
        },
      }),
      double: defineOperation({
        name: 'double',
        title: 'Double n',
        kind: 'transform',
        input: z.strictObject({ field: z.string().default('n') }),
        async execute(_ctx, input, page) {
          return { records: page.map((r) => ({ ...r, [input.field]: (r[input.field] as number) * 2 })) };
        },
      }),
      map: defineOperation({
        name: 'map',
        title: 'Map fields with templates it compiles itself',
        kind: 'transform',
        rawFields: ['fields'],
        input: z.strictObject({ fields: z.record(z.string(), z.string()), note: z.string().optional() }),
        async execute(ctx, input, page) {
          const compiled = Object.entries(input.fields).map(([k, src]) => [k, ctx.compile(src)] as const);
          const records: Page = page.map((r) => ({ ...r, ...(input.note ? { note: input.note } : {}) }));
          const failed = new Map<number, string>();
          for (const [k, template] of compiled) {
            const { values, errors } = await template.evaluatePage(page);
            values.forEach((v, i) => (records[i][k] = v));
            for (const [i, message] of errors) failed.set(i, message);
          }
          return {
            records: records.filter((_, i) => !failed.has(i)),
            errors: [...failed].map(([index, message]) => ({ index, message })),
          };
        },
      }),
      keepEven: defineOperation({
        name: 'keepEven',
        title: 'Keep records with an even n',
        kind: 'transform',
        input: z.strictObject({}),
        async execute(_ctx, _input, page) {
          const records = page.filter((r) => (r.n as number) % 2 === 0);
          return { records, ignored: page.length - records.length };
        },
      }),
      collect: defineOperation({
        name: 'collect',
        title: 'Collect (and maybe reject)',
        kind: 'destination',
        input: z.strictObject({
          name: z.string().default('out'),
          delayMs: z.number().int().min(0).default(0),
          /** Reject records whose n is a multiple of this. */
          rejectMultiplesOf: z.number().int().min(1).optional(),
          /** Rejections are retryable, and succeed on the attempt after this many. */
          retryableFor: z.number().int().min(0).optional(),
          /** Only count records (for big runs). */
          countOnly: z.boolean().default(false),
          /** Throw for the whole page (not retryable). */
          throwMessage: z.string().optional(),
        }),
        async execute(ctx, input, page) {
          probe.signals.push(ctx.signal);
          if (input.delayMs > 0) await wait(input.delayMs, ctx.signal);
          if (input.throwMessage) throw new Error(input.throwMessage);
          const out = probe.written_(input.name);
          const records: Page = [];
          const errors: { index: number; message: string; retryable?: boolean }[] = [];
          page.forEach((r, index) => {
            const m = input.rejectMultiplesOf;
            const n = r.n as number;
            const retryable = input.retryableFor !== undefined;
            const rejected = m !== undefined && n % m === 0;
            const attempt = rejected ? probe.count(`collect:${ctx.stepId}:${n}`) : 0;
            if (rejected && (!retryable || (input.retryableFor ?? 0) >= attempt)) {
              errors.push({ index, message: `n=${n} is a multiple of ${m}`, retryable });
            } else {
              if (!input.countOnly) out.push(r);
              else probe.count(`written:${input.name}`);
              records.push(r);
            }
          });
          probe.mark(`wrote ${out.length}`);
          return { records, errors };
        },
      }),
      echo: defineOperation({
        name: 'echo',
        title: 'Echo its input',
        kind: 'action',
        input: z.looseObject({}),
        async execute(ctx, input, record) {
          probe.count(`echo:${ctx.stepId}`);
          return { ...record, ...input };
        },
      }),
      emit: defineOperation({
        name: 'emit',
        title: 'Emit the given records',
        kind: 'action',
        input: z.strictObject({ records: z.array(z.record(z.string(), z.unknown())).nullable() }),
        async execute(_ctx, input) {
          return input.records;
        },
      }),
      slow: defineOperation({
        name: 'slow',
        title: 'Wait, honouring the signal',
        kind: 'action',
        concurrency: 1,
        input: z.strictObject({ ms: z.number().int().min(0), concurrency: z.number().int().optional() }),
        async execute(ctx, input, record) {
          probe.signals.push(ctx.signal);
          probe.inFlight++;
          probe.maxInFlight = Math.max(probe.maxInFlight, probe.inFlight);
          try {
            await wait(input.ms, ctx.signal);
          } finally {
            probe.inFlight--;
          }
          probe.mark(`slow ${String(record.n)}`);
          return record;
        },
      }),
      stubborn: defineOperation({
        name: 'stubborn',
        title: 'Wait, ignoring the signal',
        kind: 'action',
        input: z.strictObject({ ms: z.number().int().min(0) }),
        async execute(ctx, input, record) {
          probe.signals.push(ctx.signal);
          await wait(input.ms);
          return record;
        },
      }),
      flaky: defineOperation({
        name: 'flaky',
        title: 'Fail a few times, then succeed',
        kind: 'action',
        input: z.strictObject({
          failures: z.number().int().min(0),
          retryAfterMs: z.number().int().optional(),
          /** Throw ConfigError (not retryable) instead of TransientError. */
          permanent: z.boolean().default(false),
          key: z.string().default('flaky'),
        }),
        async execute(_ctx, input, record) {
          const n = probe.count(input.key);
          probe.mark(`${input.key} attempt ${n}`);
          if (n <= input.failures) {
            if (input.permanent) throw new ConfigError(`bad configuration (attempt ${n})`);
            throw new TransientError(`temporarily down (attempt ${n})`, { retryAfterMs: input.retryAfterMs });
          }
          return { ...record, attempts: n };
        },
      }),
      fail: defineOperation({
        name: 'fail',
        title: 'Fail some records',
        kind: 'action',
        input: z.strictObject({ when: z.boolean().default(true), message: z.string().default('boom') }),
        async execute(_ctx, input, record) {
          if (input.when) throw new Error(input.message);
          return record;
        },
      }),
    },
  });
}

/** A connector that needs a connection, to test resolution and `shared`. */
export function dbConnector(probe: Probe): ConnectorManifest {
  const Connection = z.strictObject({
    type: z.enum(['fakedb', 'otherdb']),
    host: z.string(),
    port: z.number().int().default(1),
    password: z.string().optional(),
  });
  return defineConnector({
    id: 'fakedb',
    title: 'Fake DB',
    version: '1.0.0',
    connection: Connection,
    connectionTypes: ['fakedb', 'otherdb'],
    operations: {
      whoami: defineOperation({
        name: 'whoami',
        title: 'Describe the connection',
        kind: 'action',
        input: z.strictObject({}),
        async execute(ctx) {
          const conn = ctx.connection as z.output<typeof Connection>;
          const pool = await ctx.shared(
            `${conn.host}:${conn.port}`,
            async () => ({ id: probe.count('pools opened'), host: conn.host }),
            async () => {
              probe.count('pools closed');
            },
          );
          return { host: conn.host, port: conn.port, type: conn.type, pool: pool.id };
        },
      }),
    },
  });
}

export function registryOf(...manifests: ConnectorManifest[]): ConnectorRegistry {
  const byId = new Map(manifests.map((m) => [m.id, m]));
  return { get: (id) => byId.get(id), list: () => manifests };
}

export interface Harness {
  probe: Probe;
  registry: ConnectorRegistry;
  flow(input: Omit<FlowInput, 'name'> & { name?: string }): Flow;
  run(flow: Flow, options?: Partial<RunOptions>): Promise<{ result: RunResult; events: RunEvent[] }>;
}

export function harness(...extra: ConnectorManifest[]): Harness {
  const probe = new Probe();
  const registry = registryOf(testConnector(probe), dbConnector(probe), ...extra);
  return {
    probe,
    registry,
    flow: (input) => parseFlow({ name: 'test-flow', ...input }, { catalog: catalogOf(registry) }),
    async run(flow, options = {}) {
      const events: RunEvent[] = [];
      const result = await runFlow(flow, {
        registry,
        onEvent: (e) => events.push(e),
        ...options,
      });
      return { result, events };
    },
  };
}

export function ofType<T extends RunEvent['type']>(
  events: RunEvent[],
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

export { SharedResources };
