import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorBody } from './error-body.ts';

/** What the filter needs of a logger (a PinoLogger). */
export interface ErrorLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * The one place errors become answers: user mistakes keep their 4xx and message, anything else
 * is logged with its stack here and answered 500 without it.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger: ErrorLogger;

  constructor(logger: ErrorLogger) {
    this.logger = logger;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      body.requestId = String(request.id);
      this.logger.error(
        { err: exception, reqId: request.id, method: request.method, url: request.url },
        'request failed',
      );
    }
    if (reply.sent) return;
    void reply.status(body.statusCode).send(body);
  }
}
