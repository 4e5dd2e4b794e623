import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import type { z } from 'zod';
import { invalidRequest, type RequestProblem } from './error-body.ts';

/**
 * A DTO class may bring a zod schema (`static readonly schema`): its bodies are validated with it
 * instead of class-validator, which copies every nested object and looks up its metadata on every
 * request — a measurable part of a small request on the hottest route (POST /flows/{id}/run).
 * The class's Swagger decorators still document it.
 */
interface SchemaDto {
  readonly schema: z.ZodType;
}

/**
 * Validates DTOs with class-validator: unknown fields and wrong types are 400s naming each field.
 * A body that is not a JSON object at all gets its own message instead of class-validator's
 * "an unknown value was passed to the validate function".
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => invalidRequest('invalid request', flattenErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && metadata.metatype !== Object;
    if (
      metadata.type === 'body' &&
      isDto &&
      (typeof value !== 'object' || value === null || Array.isArray(value))
    )
      throw invalidRequest('invalid request', [
        {
          path: '',
          message:
            value === undefined
              ? 'a JSON object body is required'
              : `body must be a JSON object, got ${kind(value)}`,
        },
      ]);
    if (isDto && hasSchema(metadata.metatype)) {
      const parsed = metadata.metatype.schema.safeParse(value);
      if (!parsed.success)
        throw invalidRequest('invalid request', parsed.error.issues.flatMap(issueProblems));
      return parsed.data;
    }
    return super.transform(value, metadata);
  }
}

function hasSchema(metatype: unknown): metatype is SchemaDto {
  return typeof (metatype as Partial<SchemaDto> | undefined)?.schema?.safeParse === 'function';
}

/** zod issues in the words class-validator's problems use ("unknown field", "must be an object"). */
function issueProblems(issue: z.core.$ZodIssue): RequestProblem[] {
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => ({
      path: path === '' ? key : `${path}.${key}`,
      message: 'unknown field',
    }));
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'record' ? 'object' : issue.expected;
    return [{ path, message: `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}` }];
  }
  return [{ path, message: issue.message }];
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'text' : typeof value;
}

const TYPE_CONSTRAINTS = new Set([
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isObject',
  'isArray',
  'whitelistValidation',
]);

export function flattenErrors(errors: readonly ValidationError[], parent = ''): RequestProblem[] {
  const problems: RequestProblem[] = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent === ''
        ? error.property
        : `${parent}.${error.property}`;
    const constraints = Object.entries(error.constraints ?? {});
    // a value of the wrong type fails its length/range checks too: say only what matters
    const typeErrors = constraints.filter(([name]) => TYPE_CONSTRAINTS.has(name));
    for (const [constraint, message] of typeErrors.length > 0 ? typeErrors : constraints) {
      problems.push({
        path,
        message:
          constraint === 'whitelistValidation' ? 'unknown field' : stripProperty(message, error.property),
      });
    }
    if (error.children && error.children.length > 0) problems.push(...flattenErrors(error.children, path));
  }
  return problems;
}

/** class-validator starts messages with the property name, which the path already says. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}
