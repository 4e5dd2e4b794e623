import { Param, ParseUUIDPipe } from '@nestjs/common';
import { invalidRequest } from './error-body.ts';

/** `@UuidParam('id') id: string`: a 400 naming the parameter when it is not a UUID. */
export const UuidParam = (name = 'id'): ParameterDecorator =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => invalidRequest('invalid request', [{ path: name, message: 'expected a UUID' }]),
    }),
  );
