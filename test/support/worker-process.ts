import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly workerId: string;
  /** Everything the worker wrote (pino JSON lines), for assertions and failure messages. */
  output(): string;
  /** SIGTERM, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `node apps/worker/src/main.ts` as a real process on a free port (unless WORKER_PORT is
 * given) and waits until its /health answers 200. `nodeArgs` go before the script (V8 flags).
 */
export async function startWorker(
  env: Record<string, string>,
  timeoutMs = 30_000,
  nodeArgs: readonly string[] = [],
): Promise<WorkerProcess> {
  const workerId = env.WORKER_ID ?? `test-worker-${Math.random().toString(36).slice(2, 8)}`;
  const port = env.WORKER_PORT === undefined ? await freePort() : Number(env.WORKER_PORT);
  const child = spawn(process.execPath, [...nodeArgs, 'apps/worker/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env, WORKER_PORT: String(port), WORKER_ID: workerId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`worker exited with ${child.exitCode} before starting:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker not healthy within ${timeoutMs} ms:\n${output}`);
    }
    await sleep(100);
  }

  return {
    child,
    port,
    workerId,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}
