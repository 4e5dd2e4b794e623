import { enableCompileCache } from 'node:module';
import { processIo, type CliIo } from './cli-io.ts';
import { ExitCode } from './exit-codes.ts';
import { InputError } from './input-error.ts';
import { USAGE } from './usage.ts';

// Loaded on use, so `validate` does not load the engine.
const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  run: async (args, io) => (await import('./commands/run.command.ts')).runCommand(args, io),
  validate: async (args, io) => (await import('./commands/validate.command.ts')).validateCommand(args, io),
};

/** Dispatches `junction <command> ...`; returns the exit status. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout).write(USAGE);
    return command === undefined ? ExitCode.invalidInput : ExitCode.completed;
  }
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!handler) {
    io.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return ExitCode.invalidInput;
  }
  try {
    return await handler(rest, io);
  } catch (e) {
    if (e instanceof InputError) {
      for (const line of e.lines) io.stderr.write(`${line}\n`);
      return ExitCode.invalidInput;
    }
    if (isParseArgsError(e)) {
      io.stderr.write(`${e.message}\n\n${USAGE}`);
      return ExitCode.invalidInput;
    }
    io.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (io.env.JUNCTION_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return ExitCode.failed;
  }
}

function isParseArgsError(e: unknown): e is Error {
  const code = (e as { code?: unknown } | undefined)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** How long work still under way when main returns may take (a query's cancel request, closing sockets). */
const DRAIN_MS = 3000;

if (import.meta.main) {
  // Node keeps the compiled (and type-stripped) modules in its compile cache (in the OS temp
  // directory, keyed by content; NODE_DISABLE_COMPILE_CACHE=1 turns it off): later runs skip
  // stripping and compiling, which saves start-up time and ~15 MB of the peak memory.
  enableCompileCache();
  process.exitCode = await main(process.argv.slice(2), processIo());
  // Let in-flight clean-up finish (exiting at once would drop a PostgreSQL cancel request and
  // leave the query running on the server), but never wait on a socket or timer left open.
  setTimeout(() => process.exit(), DRAIN_MS).unref();
}
