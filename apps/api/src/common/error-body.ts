import { STATUS_CODES } from 'node:http';
import { BadRequestException, HttpException } from '@nestjs/common';

/** One thing wrong with a request, at a path the client can find: `config.port`, `steps[0].use`. */
export interface RequestProblem {
  path: string;
  message: string;
}

/** Every error answer has this shape; `problems` lists each bad field when there are several. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  problems?: RequestProblem[];
  /** Set on 5xx answers so the client can quote it and the operator can find the log line. */
  requestId?: string;
}

export function errorBody(statusCode: number, message: string, problems?: RequestProblem[]): ErrorBody {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(problems && problems.length > 0 ? { problems } : {}),
  };
}

/** A 400 that lists every problem; the message repeats them so a human reading only it sees all. */
export function invalidRequest(summary: string, problems: RequestProblem[]): BadRequestException {
  const detail = problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ');
  return new BadRequestException(errorBody(400, detail === '' ? summary : `${summary}: ${detail}`, problems));
}

const FASTIFY_MESSAGES: Record<string, (e: HttpException) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'request body is larger than the limit (BODY_LIMIT)',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    'unsupported content-type: send application/json (flows also accept application/yaml)',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'body is empty but content-type is application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'content-length does not match the body',
};

/** Turns any exception into the answer a client sees: HttpExceptions as they are, the rest as 500. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = (exception.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && code in FASTIFY_MESSAGES)
      return errorBody(status, FASTIFY_MESSAGES[code](exception));
    const response = exception.getResponse();
    if (typeof response === 'string') return errorBody(status, response);
    const r = response as { message?: unknown; problems?: RequestProblem[] };
    const message = Array.isArray(r.message)
      ? r.message.map(String).join('; ')
      : typeof r.message === 'string'
        ? r.message
        : exception.message;
    // fields a route adds to its error (e.g. runningJobId of a busy flow's 409) are kept
    const {
      statusCode: _s,
      error: _e,
      message: _m,
      problems: _p,
      ...extra
    } = response as Record<string, unknown>;
    return { ...extra, ...errorBody(status, message, r.problems) };
  }
  const db = databaseError(exception);
  if (db) return db;
  if (isDatabaseUnavailable(exception)) return errorBody(503, 'the database is unavailable; try again');
  return errorBody(500, 'internal error');
}

/** SQLSTATEs of a server that is going away or refusing connections: worth a retry, not a bug. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

/** PostgreSQL unreachable, restarting or out of connections (pg and TypeORM error shapes). */
function isDatabaseUnavailable(exception: unknown): boolean {
  if (typeof exception !== 'object' || exception === null) return false;
  const e = exception as { code?: unknown; message?: unknown; driverError?: { code?: unknown } };
  const code = typeof e.driverError?.code === 'string' ? e.driverError.code : e.code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || NETWORK_CODES.has(code))
  )
    return true;
  // pg's own words when a connection dies, the pool cannot get one in time, or the database
  // refuses connections for now (ALLOW_CONNECTIONS false, during maintenance)
  return (
    typeof e.message === 'string' &&
    /^(Connection terminated|timeout exceeded when trying to connect)|is not currently accepting connections/.test(
      e.message,
    )
  );
}

/** Constraint violations that slipped past a service's own checks are still the client's doing. */
function databaseError(exception: unknown): ErrorBody | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const e = exception as { name?: string; driverError?: { code?: string; detail?: string } };
  if (e.name !== 'QueryFailedError' || !e.driverError) return undefined;
  const detail = e.driverError.detail ? `: ${e.driverError.detail}` : '';
  const code = e.driverError.code;
  if (code === '23505') return errorBody(409, `already exists${detail}`);
  if (code === '23503') return errorBody(409, `refers to or is referred to by other records${detail}`);
  if (code === '22P02') return errorBody(400, 'a value has the wrong format');
  return undefined;
}
