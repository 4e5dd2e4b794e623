import { z } from 'zod';
import { ConfigError, defineOperation, errorMessage, type Bindings, type Page } from '@junction/flow';
import { runPerPage, runPerRecord, type PageRun } from './run-page.ts';
import type { SandboxOptions } from './sandbox.ts';
import { sessionFor } from './script-session.ts';

export const RunInput = z.strictObject({
  code: z.string().trim().min(1, 'expected JavaScript code').meta({
    description:
      'JavaScript function body. perRecord: gets `record`, returns an object, an array of objects, or null to skip the record. perPage: gets `records`, returns an array of records. Both get `params` and `steps` (read-only copies) and a `console` whose lines go to the step log.',
  }),
  mode: z.enum(['perRecord', 'perPage']).default('perRecord'),
  timeoutMs: z.number().int().min(1).max(60_000).default(1000).meta({
    description: 'Time limit per record (perRecord) or per page (perPage), in ms; at most 60000',
  }),
  memoryMb: z.number().int().min(8).max(512).default(64).meta({
    description: 'Memory limit of the script’s isolate, in MB (8 to 512)',
  }),
});
export type RunInput = z.output<typeof RunInput>;

/**
 * Runs user JavaScript over records in an isolated-vm isolate: a separate V8 heap with only the
 * language built-ins, so the code cannot reach the host process, modules, files or the network.
 * Data crosses as JSON text, so values become their JSON form (dates as ISO strings, bigints as
 * decimal text).
 */
export const run = defineOperation({
  name: 'run',
  title: 'Run JavaScript',
  description:
    'Transforms records with a JavaScript function, run in an isolated sandbox with time and memory limits.',
  kind: 'transform',
  input: RunInput,
  // `{{` in JavaScript is code, not a template: the engine must not evaluate it (raw) nor
  // validation parse it (literal)
  rawFields: ['code'],
  literalFields: ['code'],
  async execute(ctx, input, page) {
    if (ctx.signal.aborted)
      throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('cancelled');
    if (page.length === 0) return { records: [] };
    const session = sessionFor(ctx);
    const options: SandboxOptions = {
      code: input.code,
      mode: input.mode,
      memoryMb: input.memoryMb,
      timeoutMs: input.timeoutMs,
      paramsJson: bindingJson(ctx.bindings, 'params'),
      stepsJson: bindingJson(ctx.bindings, 'steps'),
    };
    const json = pageJson(page);
    return session.exclusive(async () => {
      // Cancelling kills a running script at once: disposing the isolate stops it mid-loop.
      const stop = (): void => session.kill();
      ctx.signal.addEventListener('abort', stop, { once: true });
      try {
        const pageRun: PageRun = {
          acquire: () => session.acquire(ctx, options),
          release: () => session.release(),
          signal: ctx.signal,
          log: ctx.log,
          timeoutMs: input.timeoutMs,
          memoryMb: input.memoryMb,
        };
        return input.mode === 'perRecord'
          ? await runPerRecord(pageRun, page, json)
          : await runPerPage(pageRun, page, json);
      } finally {
        ctx.signal.removeEventListener('abort', stop);
        // The isolate goes back to the pool between pages (its context stays cached in it for
        // the next page): held until the step's end, a worker's concurrent runs spread over as
        // many isolates, each with its own cold JIT and caches; returned at once, a few hot
        // isolates serve them all.
        session.release();
      }
    });
  },
});

/** JSON for the isolate; bigints (from database drivers) become decimal text. */
function toJson(value: unknown): string {
  try {
    // without a replacer first: a replacer function costs a call per key
    return JSON.stringify(value) ?? 'null';
  } catch (e) {
    if (!(e instanceof TypeError) || !/bigint/i.test(e.message)) throw e;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  }
}

function pageJson(page: Page): string {
  try {
    return toJson(page);
  } catch (e) {
    throw new ConfigError(`the records cannot be passed to the script as JSON: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

function bindingJson(bindings: Bindings, name: string): string {
  try {
    return toJson(bindings[name] ?? {});
  } catch (e) {
    throw new ConfigError(
      `the \`${name}\` binding cannot be passed to the script as JSON: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
}
