import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module.ts';
import { AllExceptionsFilter } from './common/all-exceptions.filter.ts';
import { registerBodyParsers } from './common/body-parsers.ts';
import { AppValidationPipe } from './common/validation.pipe.ts';
import type { AppConfig } from './config/app-config.ts';
import { ensureDatabase } from './database/ensure-database.ts';
import { MetricsService } from './modules/metrics/metrics.service.ts';

/**
 * Builds the API (database created and migrated, admin ensured) without listening, so tests and
 * main.ts share one setup. Call `app.listen(port, host)` to serve.
 */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  if (config.database.autoCreate) await ensureDatabase(config.database.url);
  const adapter = new FastifyAdapter({ bodyLimit: config.http.bodyLimit });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  const logger = await app.resolve(PinoLogger);
  logger.setContext('junction-api');
  for (const warning of config.warnings) logger.warn(warning);

  registerBodyParsers(app, config.http.bodyLimit);
  app.useGlobalPipes(new AppValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(logger));
  recordHttpMetrics(app);
  setupOpenApi(app);
  app.enableShutdownHooks();
  await app.init();
  return app;
}

function setupOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Junction API')
      .setDescription(
        'Control plane of Junction. Every /api/v1 route needs `Authorization: Bearer <token>` from POST /api/v1/auth/token.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });
}

function recordHttpMetrics(app: NestFastifyApplication): void {
  const histogram = app.get(MetricsService).httpRequestDuration;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      // the route pattern, not the URL, so ids do not explode the label set
      const route = request.routeOptions.url ?? 'unmatched';
      histogram.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
}
