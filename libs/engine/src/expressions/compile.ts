import jsonata from 'jsonata';
import {
  ConfigError,
  isWholeTemplate,
  templateParts,
  type Bindings,
  type CompiledTemplate,
  type FlowRecord,
  type Page,
  type PageEvaluation,
} from '@junction/flow';
import { BAIL, compileFastPath, type FastFn } from './fast-path.ts';
import { jsonataString, isPrimitive } from './jsonata-semantics.ts';
import { LruCache } from './lru-cache.ts';

type Input = Record<string, unknown>;

interface CompiledExpression {
  source: string;
  fast?: FastFn;
  slow: jsonata.Expression;
}

/** The parsed form of a template's text, the same for every run (bindings come at evaluation). */
interface TemplateShape {
  exprs: CompiledExpression[];
  whole: boolean;
  /** literal text between the templates, for interpolation */
  literals: string[];
}

// A flow's templates are the same on every run: parsing them (JSONata parse, fast path) was a
// tenth of a worker's time on short runs. Parsed expressions hold no evaluation state (each
// evaluate() makes its own frame), so one can serve concurrent runs.
export const TEMPLATE_CACHE_SIZE = 1_000;
const shapes = new LruCache<string, TemplateShape>(TEMPLATE_CACHE_SIZE);
const expressions = new LruCache<string, CompiledExpression>(TEMPLATE_CACHE_SIZE);

function templateShape(text: string): TemplateShape | undefined {
  const cached = shapes.get(text);
  if (cached) return cached;
  const parts = templateParts(text);
  if (parts.length === 0) return undefined;
  const shape: TemplateShape = {
    exprs: parts.map((p) => compileExpression(p.expr)),
    whole: isWholeTemplate(text),
    literals: text.split(/\{\{[\s\S]+?\}\}/),
  };
  shapes.set(text, shape);
  return shape;
}

/**
 * Compiles a `{{ expr }}` template (or, with `bare`, a plain JSONata expression) once, for
 * evaluation per record or per page with `record` bound next to the run's bindings.
 * Syntax errors throw a ConfigError with the position.
 */
export function compileTemplate(
  source: string,
  bindings: Bindings,
  options: { bare?: boolean } = {},
): CompiledTemplate {
  const text = options.bare && !source.includes('{{') ? `{{ ${source} }}` : source;
  const shape = templateShape(text);
  if (!shape) return constantTemplate(source);
  const { exprs, whole, literals } = shape;

  const combine = (values: unknown[]): unknown => {
    if (whole) return values[0];
    let out = literals[0];
    values.forEach((v, i) => {
      out += interpolated(v) + literals[i + 1];
    });
    return out;
  };

  const evaluateOne = async (input: Input): Promise<unknown> => {
    const values: unknown[] = [];
    for (const e of exprs) values.push(await evaluateExpression(e, input));
    return combine(values);
  };

  return {
    source,
    isConstant: false,
    evaluate: (record?: FlowRecord, extra?: Bindings) =>
      evaluateOne({ ...bindings, ...extra, record: record ?? {} }),
    async evaluatePage(page: Page, extra?: Bindings): Promise<PageEvaluation> {
      const values: unknown[] = new Array<unknown>(page.length);
      const errors = new Map<number, string>();
      const input: Input = { ...bindings, ...extra, record: undefined };
      const allFast = exprs.every((e) => e.fast);
      for (let i = 0; i < page.length; i++) {
        input.record = page[i];
        if (allFast) {
          const v = fastValues(exprs, input);
          if (v !== BAIL) {
            values[i] = combine(v);
            continue;
          }
        }
        try {
          values[i] = await evaluateOne(input);
        } catch (e) {
          errors.set(i, evaluationMessage(e));
        }
      }
      return { values, errors };
    },
  };
}

function fastValues(exprs: CompiledExpression[], input: Input): unknown[] | typeof BAIL {
  const out: unknown[] = [];
  for (const e of exprs) {
    const v = (e.fast as FastFn)(input);
    if (v === BAIL) return BAIL;
    out.push(v);
  }
  return out;
}

function constantTemplate(source: string): CompiledTemplate {
  return {
    source,
    isConstant: true,
    evaluate: async () => source,
    evaluatePage: async (page) => ({ values: page.map(() => source), errors: new Map() }),
  };
}

function compileExpression(source: string): CompiledExpression {
  const cached = expressions.get(source);
  if (cached) return cached;
  const compiled = parseExpression(source);
  expressions.set(source, compiled);
  return compiled;
}

function parseExpression(source: string): CompiledExpression {
  let slow: jsonata.Expression;
  try {
    slow = jsonata(source);
  } catch (e) {
    const err = e as { message?: string; position?: number };
    const at = typeof err.position === 'number' ? ` at position ${err.position}` : '';
    throw new ConfigError(`invalid expression "${source}"${at}: ${err.message ?? String(e)}`);
  }
  return { source, slow, fast: compileFastPath(slow.ast()) };
}

async function evaluateExpression(e: CompiledExpression, input: Input): Promise<unknown> {
  if (e.fast) {
    const v = e.fast(input);
    if (v !== BAIL) return v;
  }
  try {
    return (await e.slow.evaluate(input)) as unknown;
  } catch (err) {
    throw new ConfigError(`expression "${e.source}" failed: ${evaluationMessage(err)}`, { cause: err });
  }
}

function evaluationMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  const err = e as { message?: string } | undefined;
  return err?.message ?? String(e);
}

function interpolated(v: unknown): string {
  if (v === undefined) return '';
  if (isPrimitive(v)) return jsonataString(v);
  return JSON.stringify(v);
}
