import { parseArgs } from 'node:util';
import { loadConnectorRegistry } from '@junction/connectors';
import type { CliIo } from '../cli-io.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkFlowFile, countSteps, displayPath, problemLines } from '../flow-file.ts';
import { InputError } from '../input-error.ts';
import { VALIDATE_USAGE } from '../usage.ts';

/** `junction validate FLOW`: every problem of the flow, one per line, or a confirmation. */
export async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {}, strict: true });
  if (positionals.length !== 1) throw new InputError(`expected one flow file: ${VALIDATE_USAGE}`);
  const file = positionals[0];
  const registry = await loadConnectorRegistry();
  const check = await checkFlowFile(file, io.cwd, registry);
  if (!check.ok) {
    const label = displayPath(file, io.cwd);
    for (const line of problemLines(label, check.problems)) io.stdout.write(`${line}\n`);
    const n = check.problems.length;
    io.stderr.write(`✗ ${label}: ${n} problem${n === 1 ? '' : 's'}\n`);
    return ExitCode.invalidInput;
  }
  const { flow } = check.loaded;
  const n = countSteps(flow);
  io.stdout.write(`✓ flow "${flow.name}" is valid (${n} step${n === 1 ? '' : 's'})\n`);
  return ExitCode.completed;
}
