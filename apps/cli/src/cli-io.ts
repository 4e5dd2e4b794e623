/** The streams and environment a command works with; tests pass their own. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: userCwd(process.env) };
}

/**
 * `pnpm junction ...` runs in the repository root whatever directory it was typed in; pnpm
 * passes that directory as INIT_CWD, and file arguments are meant relative to it.
 */
export function userCwd(env: Readonly<Record<string, string | undefined>>): string {
  const viaScript = env.npm_lifecycle_event === 'junction' && env.INIT_CWD !== undefined;
  return viaScript ? (env.INIT_CWD as string) : process.cwd();
}

/** A stream whose every write is scrubbed of known secrets. */
export function redacting(stream: OutputStream, redact: (text: string) => string): OutputStream {
  return {
    write: (text: string) => stream.write(redact(text)),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}
