import 'reflect-metadata';
import { PinoLogger } from 'nestjs-pino';
import { startTracing, TracingConfigError } from '@junction/telemetry';
import { createApp } from './app.ts';
import { ConfigurationError, loadConfig } from './config/app-config.ts';

export { createApp } from './app.ts';
export { loadConfig, ConfigurationError, type AppConfig } from './config/app-config.ts';

/** Reads the environment (the only place that does), builds the API and listens on HOST:PORT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    process.stderr.write(`junction-api: ${e.message}\n`);
    process.exit(2);
  }
  // spans go out only when OTEL_EXPORTER_OTLP_ENDPOINT is set; flushed once the app has closed
  let tracing;
  try {
    tracing = startTracing('junction-api');
  } catch (e) {
    if (!(e instanceof TracingConfigError)) throw e;
    process.stderr.write(`junction-api: ${e.message}\n`);
    process.exit(2);
  }
  process.once('beforeExit', () => void tracing.shutdown());
  let app;
  try {
    app = await createApp(config);
  } catch (e) {
    process.stderr.write(`junction-api: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  await app.listen(config.http.port, config.http.host);
  const logger = await app.resolve(PinoLogger);
  logger.info({ url: await app.getUrl() }, 'Junction API listening');
}

if (import.meta.main) await main();
