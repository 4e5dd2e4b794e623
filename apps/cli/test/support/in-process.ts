import { main } from '../../src/main.ts';
import { ROOT } from './cli-process.ts';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI's main() in this process with captured output: for checks that need no child process. */
export async function runInProcess(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
    cwd: ROOT,
  });
  return { code, stdout, stderr };
}
