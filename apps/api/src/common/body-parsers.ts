import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import secureJson from 'secure-json-parse';
import { errorBody } from './error-body.ts';

export const YAML_CONTENT_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'];

/**
 * JSON with the parser's own message (Fastify's default hides it), refusing prototype-poisoning
 * keys; YAML arrives as text and is parsed by the routes that accept it (flows).
 */
export function registerBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  app.useBodyParser('application/json', { bodyLimit }, (_req, body: Buffer, done) => {
    const text = body.toString('utf8');
    if (text.trim() === '') {
      done(new BadRequestException(errorBody(400, 'body is empty but content-type is application/json')));
      return;
    }
    let value: unknown;
    try {
      value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (e) {
      done(new BadRequestException(errorBody(400, `body is not valid JSON: ${(e as Error).message}`)));
      return;
    }
    // the escape is rare in real bodies; only then look for a real NUL (PostgreSQL cannot store one)
    const at = text.includes('\\u0000') ? nulPath(value, '') : undefined;
    if (at !== undefined) {
      const where = at === '' ? 'the body' : at;
      done(
        new BadRequestException(
          errorBody(400, `${where} contains a NUL character (\\u0000), which cannot be stored`),
        ),
      );
      return;
    }
    done(null, value);
  });
  app.useBodyParser(YAML_CONTENT_TYPES, { bodyLimit }, (_req, body: Buffer, done) => {
    done(null, body.toString('utf8'));
  });
}

/** Path of the first key or string holding a NUL character, if any. */
function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return here.replaceAll('\u0000', '\\u0000');
    const found = nulPath(item, here);
    if (found !== undefined) return found;
  }
  return undefined;
}
