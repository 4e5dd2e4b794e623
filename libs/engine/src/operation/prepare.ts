import {
  ConfigError,
  errorMessage,
  type CompileFn,
  type ConnectorManifest,
  type ConnectorStep,
  type OperationContext,
  type OperationDef,
} from '@junction/flow';
import { resolveConnection } from '../connections.ts';
import { compileTemplate } from '../expressions/compile.ts';
import { parseWithSchema } from '../schema-issues.ts';
import type { StepEnv } from '../step-lifecycle.ts';
import type { DeferredFinishes } from '../stats.ts';
import { compileValues, type CompiledValues } from '../with-input.ts';

/** A connector step ready to run: its operation, context and compiled `with`. */
export interface PreparedOperation {
  readonly env: StepEnv<ConnectorStep>;
  readonly connector: ConnectorManifest;
  readonly op: OperationDef;
  readonly ctx: OperationContext;
  readonly values: CompiledValues;
  /** Where fallback runs report their step.finished (flushed when the step ends). */
  readonly fallbackFinishes: DeferredFinishes;
  /** Listeners of ctx.onFinish, called by finishOperation(). */
  readonly finishListeners: (() => void)[];
}

export function findOperation(env: StepEnv<ConnectorStep>): {
  connector: ConnectorManifest;
  op: OperationDef;
} {
  const use = env.step.use;
  const dot = use.indexOf('.');
  const connectorId = dot < 0 ? use : use.slice(0, dot);
  const connector = env.scope.run.registry.get(connectorId);
  if (!connector) throw new ConfigError(`${env.where}.use: unknown connector "${connectorId}"`);
  const op = dot < 0 ? undefined : connector.operations[use.slice(dot + 1)];
  if (!op) {
    throw new ConfigError(
      `${env.where}.use: connector "${connectorId}" has no operation "${use.slice(dot + 1)}" ` +
        `(it has: ${Object.keys(connector.operations).join(', ')})`,
    );
  }
  return { connector, op };
}

export async function prepareOperation(
  env: StepEnv<ConnectorStep>,
  connector: ConnectorManifest,
  op: OperationDef,
): Promise<PreparedOperation> {
  const { step, scope } = env;
  const { run, bindings } = scope;
  const compile: CompileFn = (source, options) => compileTemplate(source, bindings, options);
  const connection = await resolveConnection(step.connection, connector, env.path, run.connections, compile);
  const values = compileValues(step.with, compile, [...env.path, 'with'], op.rawFields);
  const finishListeners: (() => void)[] = [];
  const ctx: OperationContext = {
    stepId: step.id,
    connection,
    signal: env.signal,
    log: run.events.logger(step.id),
    bindings,
    compile,
    pageSize: run.pageSize,
    shared: <T>(key: string, open: () => Promise<T>, close: (value: T) => Promise<void>) =>
      run.shared.get(`${connector.id}:${key}`, open, close),
    onFinish: (listener) => {
      finishListeners.push(listener);
    },
  };
  return { env, connector, op, ctx, values, fallbackFinishes: scope.deferred ?? new Set(), finishListeners };
}

/** The step execution ended: tells the operation (ctx.onFinish); a listener's error is logged, not thrown. */
export function finishOperation(prepared: PreparedOperation): void {
  for (const listener of prepared.finishListeners.splice(0)) {
    try {
      listener();
    } catch (error) {
      prepared.ctx.log.warn(`releasing the step's resources failed: ${errorMessage(error)}`);
    }
  }
}

/** Evaluates `with` (for one record, for actions) and parses it with the operation's input schema. */
export async function operationInput(
  prepared: PreparedOperation,
  record?: Record<string, unknown>,
): Promise<unknown> {
  const value = await prepared.values.evaluate(record);
  return parseWithSchema(prepared.op.input, value, [...prepared.env.path, 'with']);
}

/** The context for one call: the step's, or one whose signal also carries the call's timeout. */
export function contextFor(prepared: PreparedOperation, signal: AbortSignal): OperationContext {
  return signal === prepared.ctx.signal ? prepared.ctx : { ...prepared.ctx, signal };
}

/** Reports each retry as a warning of the step. */
export function retryLogger(
  prepared: PreparedOperation,
): (message: string, attempt: number, delayMs: number) => void {
  const { env } = prepared;
  return (message, attempt, delayMs) =>
    env.scope.run.events.log(
      env.step.id,
      'warn',
      `attempt ${attempt} failed: ${message}; retrying in ${delayMs} ms`,
    );
}
