import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flowJsonSchema } from '@junction/flow';

describe('published flow JSON Schema', () => {
  it('is up to date with the model (run node libs/flow/scripts/write-schema.ts after a change)', () => {
    const published: unknown = JSON.parse(
      readFileSync(new URL('../schema/flow.schema.json', import.meta.url), 'utf8'),
    );
    expect(published).toEqual(flowJsonSchema());
  });

  it('describes steps of every kind for editors', () => {
    const text = JSON.stringify(flowJsonSchema());
    for (const key of ['"use"', '"if"', '"forEach"', '"try"', '"onFailure"', '"concurrency"']) {
      expect(text).toContain(key);
    }
  });
});
