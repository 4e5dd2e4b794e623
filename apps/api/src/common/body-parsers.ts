import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import secureJson from 'secure-json-parse';
import { errorBody } from './error-body.ts';
import { findUnstorable, mayHoldUnstorable, unstorableMessage } from './storable-text.ts';

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
    // the escapes are rare in real bodies; only then look for what PostgreSQL cannot store
    const at = mayHoldUnstorable(text) ? findUnstorable(value) : undefined;
    if (at !== undefined) {
      done(new BadRequestException(errorBody(400, unstorableMessage(at))));
      return;
    }
    done(null, value);
  });
  app.useBodyParser(YAML_CONTENT_TYPES, { bodyLimit }, (_req, body: Buffer, done) => {
    done(null, body.toString('utf8'));
  });
}
