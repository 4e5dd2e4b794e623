/**
 * The contract between the engine and connectors. A connector is a manifest plus operations;
 * operations are plain async functions of (ctx, input, ...) with everything they need in ctx.
 * Lives here, in the model, so the engine and the connectors both depend on it and never on
 * each other.
 */
import type { z } from 'zod';
import type { OperationKind } from './catalog.ts';
import type { FlowRecord, Page } from './record.ts';
import type { TemplateScanner } from './templates.ts';

export interface StepLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What templates see besides `record`: `params`, `steps`, `trigger`, `settings`, `job`, `env`, `error`. */
export type Bindings = Readonly<Record<string, unknown>>;

/** Values of one compiled template over a page: one value per record, or an error message. */
export interface PageEvaluation {
  values: unknown[];
  /** index in the page → message, for records the expression failed on */
  errors: Map<number, string>;
}

/** A `{{ expr }}` template (or a plain string) compiled once; evaluated per record or per page. */
export interface CompiledTemplate {
  /** The source text, for messages. */
  readonly source: string;
  /** True when the template has no `{{ }}`: evaluate() returns the text itself. */
  readonly isConstant: boolean;
  evaluate(record?: FlowRecord, extra?: Bindings): Promise<unknown>;
  evaluatePage(page: Page, extra?: Bindings): Promise<PageEvaluation>;
}

/** An expression without braces (a condition, a JSONata mapping); `{{ }}` around it is accepted too. */
export type CompileFn = (templateOrExpression: string, options?: { bare?: boolean }) => CompiledTemplate;

export interface OperationContext<C = unknown> {
  /** The step's id, for messages. */
  readonly stepId: string;
  /** The resolved, decrypted connection config (validated by the connector's schema); undefined if none. */
  readonly connection: C;
  /** Aborted on cancel or step timeout; pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly log: StepLogger;
  /** params, steps, trigger, settings, job, env: for operations that evaluate code or templates themselves. */
  readonly bindings: Bindings;
  /** Compiles a template of a raw field (see OperationDef.rawFields). Compile once, evaluate per page. */
  readonly compile: CompileFn;
  /** Suggested page size for sources (settings.pageSize or the engine default). */
  readonly pageSize: number;
  /**
   * A client shared by every step of the run (or of the worker) that uses the same key, opened on
   * first use and closed when the runner shuts down: connection pools live here.
   */
  shared<T>(key: string, open: () => Promise<T>, close: (value: T) => Promise<void>): Promise<T>;
  /**
   * Calls `listener` once when the step execution has ended (its pages or calls are over), so
   * what an operation keeps between the pages of one step can be given back at once rather than
   * after an idle timeout. Optional: a runner may not offer it.
   */
  onFinish?(listener: () => void): void;
}

/** Result of a page operation: records passed on, and records it rejected (by index in the input page). */
export interface PageResult {
  records: Page;
  errors?: RecordFailure[];
  /** Records dropped on purpose (e.g. by a filter), counted as ignored. */
  ignored?: number;
}

export interface RecordFailure {
  /** Index of the failed record in the input page. */
  index: number;
  message: string;
  /** Whether retrying the same record could succeed (connection lost, deadlock...). */
  retryable?: boolean;
}

interface OperationBase<I> {
  readonly name: string;
  readonly title: string;
  readonly description?: string;
  readonly input: z.ZodType<I>;
  /**
   * Fields whose templates the engine must not evaluate: the operation compiles them with
   * ctx.compile and evaluates them per record or page (transform.map's `fields`).
   */
  readonly rawFields?: readonly string[];
  /**
   * Fields that are not templates at all (script.run's `code`, where `{{` is JavaScript): the
   * engine leaves them alone (list them in rawFields too) and validation does not parse them.
   */
  readonly literalFields?: readonly string[];
  /**
   * Fields with a syntax of their own in which `{{` may also be plain text (a PostgreSQL array
   * literal `'{{1,2},{3,4}}'` in SQL): the operation says where the field's templates are, and
   * validation checks those instead of every `{{ … }}` in the text. List them in rawFields too.
   */
  readonly templatesIn?: Readonly<Record<string, TemplateScanner>>;
}

/** Produces a stream of pages; whatever came before it is run to its end first. */
export interface SourceOperation<I = unknown, C = unknown> extends OperationBase<I> {
  readonly kind: 'source';
  execute(ctx: OperationContext<C>, input: I): AsyncIterable<Page>;
}

/** Takes a page, returns a page: transforms map/drop records, destinations write them and pass them on. */
export interface PageOperation<I = unknown, C = unknown> extends OperationBase<I> {
  readonly kind: 'transform' | 'destination';
  execute(ctx: OperationContext<C>, input: I, page: Page): Promise<PageResult>;
}

/**
 * Runs once per incoming record, with `with` templates evaluated for that record (so
 * `{{ record.id }}` works in a URL). At the start of a flow it runs once. Returns the output
 * record(s), or null to ignore the record.
 */
export interface ActionOperation<I = unknown, C = unknown> extends OperationBase<I> {
  readonly kind: 'action';
  /** Records in flight at once within a page (default 1). May be overridden by `with.concurrency`. */
  readonly concurrency?: number;
  execute(ctx: OperationContext<C>, input: I, record: FlowRecord): Promise<FlowRecord | FlowRecord[] | null>;
}

export type OperationDef<I = unknown, C = unknown> =
  SourceOperation<I, C> | PageOperation<I, C> | ActionOperation<I, C>;

export interface ConnectorManifest<C = unknown> {
  readonly id: string;
  readonly title: string;
  readonly version: string;
  readonly description?: string;
  /**
   * Schema of the connection config. Mark secret fields with `.meta({ secret: true })`:
   * they are encrypted at rest and never shown.
   */
  readonly connection?: z.ZodType<C>;
  /**
   * A step may leave the connection out (http: a full URL needs none); the operation then gets
   * `connection` undefined. Default false: a connector with a schema needs a connection.
   */
  readonly connectionOptional?: boolean;
  /** Connection `type` values this connector accepts (e.g. postgres, mysql); defaults to [id]. */
  readonly connectionTypes?: readonly string[];
  // Operations have their own input types; the registry only needs their common shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly operations: Readonly<Record<string, OperationDef<any, C>>>;
  /** Opens and closes a real connection, for "test connection". */
  test?(connection: C, signal: AbortSignal): Promise<void>;
}

export interface ConnectorRegistry {
  get(id: string): ConnectorManifest | undefined;
  list(): readonly ConnectorManifest[];
}

/** Identity helpers that let TypeScript infer input and connection types from the schemas. */
export function defineOperation<I, C = unknown>(op: SourceOperation<I, C>): SourceOperation<I, C>;
export function defineOperation<I, C = unknown>(op: PageOperation<I, C>): PageOperation<I, C>;
export function defineOperation<I, C = unknown>(op: ActionOperation<I, C>): ActionOperation<I, C>;
export function defineOperation<I, C>(op: OperationDef<I, C>): OperationDef<I, C> {
  return op;
}

export function defineConnector<C>(manifest: ConnectorManifest<C>): ConnectorManifest<C> {
  return manifest;
}

export function operationKind(op: OperationDef): OperationKind {
  return op.kind;
}

/** The registry seen as a catalog, for validateFlow. */
export function catalogOf(registry: ConnectorRegistry): import('./catalog.ts').ConnectorCatalog {
  return {
    connector: (id) => registry.get(id),
    connectorIds: () => registry.list().map((c) => c.id),
  };
}
