/**
 * The worker process: `node apps/worker/src/main.ts`. Configured by the environment only
 * (REDIS_URL, JUNCTION_SECRET_KEY, WORKER_CONCURRENCY, WORKER_PORT, WORKER_SHUTDOWN_GRACE_MS).
 */
import { pino } from 'pino';
import { startTracing, TracingConfigError } from '@junction/telemetry';
import { WorkerApp } from './worker-app.ts';
import { WorkerConfigError, loadWorkerConfig } from './worker-config.ts';

let config;
try {
  config = loadWorkerConfig();
} catch (error) {
  if (!(error instanceof WorkerConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

const logger = pino({ level: config.logLevel, base: { service: 'worker', workerId: config.workerId } });
if (config.usesDevelopmentKey) {
  logger.warn('JUNCTION_SECRET_KEY is not set: using the public development key; secrets are not protected');
}

// spans go out only when OTEL_EXPORTER_OTLP_ENDPOINT is set
let tracing;
try {
  tracing = startTracing('junction-worker');
} catch (error) {
  if (!(error instanceof TracingConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const app = new WorkerApp(config, logger);
let signals = 0;
const stop = (signal: string) => {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  logger.info({ signal }, 'stop requested');
  app
    .stop()
    .then(() => tracing.shutdown())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ error: String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  await app.start();
} catch (error) {
  logger.fatal({ error: error instanceof Error ? error.message : String(error) }, 'worker failed to start');
  await app.stop().catch(() => undefined);
  process.exit(1);
}
