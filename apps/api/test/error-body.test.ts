import { describe, expect, it } from 'vitest';
import { toErrorBody } from '../src/common/error-body.ts';

// How errors that are nobody's mistake in a request become answers. The shapes are pg's and
// TypeORM's own (a QueryFailedError keeps the driver's error as driverError).

describe('error answers for an unavailable database', () => {
  it.each([
    [
      'refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    [
      'server shutting down',
      { name: 'QueryFailedError', message: 'terminating connection', driverError: { code: '57P01' } },
    ],
    [
      'too many connections',
      { name: 'QueryFailedError', message: 'sorry, too many clients', driverError: { code: '53300' } },
    ],
    ['connection exception class', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['dead connection', new Error('Connection terminated unexpectedly')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
  ])('answers 503 for a %s', (_what, error) => {
    expect(toErrorBody(error)).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'the database is unavailable; try again',
    });
  });

  it('still answers 500 for a plain bug, and 409 for a constraint', () => {
    expect(toErrorBody(new TypeError("Cannot read properties of undefined (reading 'id')")).statusCode).toBe(
      500,
    );
    expect(
      toErrorBody({ name: 'QueryFailedError', message: 'duplicate', driverError: { code: '23505' } })
        .statusCode,
    ).toBe(409);
  });
});
