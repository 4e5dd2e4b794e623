import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from './config/app-config.ts';

/** pino JSON logs; credentials in headers never reach them. */
export function loggerOptions(config: AppConfig): Params {
  return {
    // nestjs-pino's default route pattern ({/*splat}) matches nothing under Nest 12 with Fastify
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.log.level,
      // what a request line needs; no headers (they hold credentials, and serializing and
      // redacting them for every request's child logger was a noticeable part of a small request)
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          // ?access_token= (SSE from browsers) is a credential: never logged
          url: req.url?.replace(/([?&]access_token=)[^&]*/gi, '$1[redacted]'),
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          'res.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
      // probes every few seconds would drown the request log (readiness changes are logged by HealthService)
      autoLogging: { ignore: (req) => isProbe(req.url) },
      customLogLevel: (req, res, err) =>
        isProbe(req.url)
          ? 'silent'
          : err !== undefined || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'warn'
              : 'info',
    },
  };
}

function isProbe(url: string | undefined): boolean {
  return url === '/health' || url === '/ready' || url === '/metrics';
}
