import { randomUUID } from 'node:crypto';
import { loadConnectorRegistry } from '@junction/connectors';
import { runFlow } from '@junction/engine';
import { FlowValidationError, formatProblem } from '@junction/flow';
import type { RunEvent } from '@junction/protocol';
import { redacting, type CliIo } from '../cli-io.ts';
import { prepareConnections, type PreparedConnections } from '../connection-resolver.ts';
import { ExitCode } from '../exit-codes.ts';
import { displayPath, loadFlowFile } from '../flow-file.ts';
import { InputError } from '../input-error.ts';
import { Redactor } from '../redactor.ts';
import { createProgress } from '../render/progress.ts';
import { RunState } from '../render/run-state.ts';
import { renderRunSummary } from '../render/run-summary.ts';
import { paramProblems, parseParamArgs, readParamsFile } from '../run-params.ts';
import { parseRunArgs } from './run-args.ts';

/**
 * `junction run FLOW`: checks every input first (flow, params, connections; exit 2), then runs
 * the flow in-process, showing progress and a final stats table, or one JSON event per line.
 * Ctrl-C cancels through the run's AbortSignal (exit 130); a second Ctrl-C exits at once.
 */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const options = parseRunArgs(args);
  const registry = await loadConnectorRegistry();
  const flowLabel = displayPath(options.file, io.cwd);
  const { flow, path } = await loadFlowFile(options.file, io.cwd, registry);

  const params: Record<string, unknown> = {
    ...(options.paramsFile !== undefined ? await readParamsFile(options.paramsFile, io.cwd) : {}),
    ...parseParamArgs(options.params),
  };
  const problems = paramProblems(flow, params);
  let connections: PreparedConnections | undefined;
  try {
    connections = await prepareConnections({
      flow,
      flowPath: path,
      flowLabel,
      connectionsFile: options.connections,
      cwd: io.cwd,
      env: io.env,
      registry,
    });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    problems.push(...e.lines);
  }
  if (problems.length > 0 || connections === undefined) throw new InputError(problems);
  const resolved = connections;

  const redactor = new Redactor();
  redactor.add(connections.secrets);
  const stdout = redacting(io.stdout, (t) => redactor.redact(t));
  const stderr = redacting(io.stderr, (t) => redactor.redact(t));

  const state = new RunState();
  const progress = options.json ? undefined : createProgress(stdout, state);
  const onEvent = (event: RunEvent): void => {
    if (options.json) {
      io.stdout.write(`${redactor.json(event)}\n`);
      return;
    }
    state.apply(event);
    progress?.onEvent(event);
  };

  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.cancelled);
    const message = 'cancelling… (press Ctrl-C again to exit at once)';
    if (progress) progress.note(message);
    else stderr.write(`${message}\n`);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await runFlow(flow, {
      registry,
      params,
      connections: (name) => resolved.resolve(name),
      signal: controller.signal,
      onEvent,
      job: { id: randomUUID() },
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    });
    progress?.close();
    if (!options.json) for (const line of renderRunSummary(state, result)) stdout.write(`${line}\n`);
    if (result.status === 'completed') return ExitCode.completed;
    if (result.status === 'cancelled') return ExitCode.cancelled;
    return ExitCode.failed;
  } catch (e) {
    progress?.close();
    if (e instanceof FlowValidationError) throw new InputError(e.problems.map(formatProblem));
    // not a failure of the flow (those come back as a result) but of the runner: say it plainly
    stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (io.env.JUNCTION_DEBUG && e instanceof Error && e.stack) stderr.write(`${e.stack}\n`);
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
