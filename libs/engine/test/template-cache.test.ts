import { describe, expect, it } from 'vitest';
import { ConfigError } from '@junction/flow';
import { compileTemplate } from '../src/expressions/compile.ts';
import { LruCache } from '../src/expressions/lru-cache.ts';

// Templates are parsed once per text and shared by every run that uses them.

describe('compiled template cache', () => {
  it('keeps concurrent evaluations of one cached expression apart, per run bindings and record', async () => {
    // $$ (the root) and a lambda with its own frame exercise JSONata's evaluation environment;
    // the slow path (no fast path for these) is what a shared Expression would get wrong
    const source = '{{ $sum($map([1, 2, 3], function($v) { $v * params.k })) + $$.record.n }}';
    const runs = Array.from({ length: 50 }, (_, k) => compileTemplate(source, { params: { k } }));
    const results = await Promise.all(
      runs.flatMap((t, k) => [t.evaluate({ n: k }), t.evaluatePage([{ n: 1 }, { n: 2 }])]),
    );
    runs.forEach((_, k) => {
      expect(results[2 * k]).toBe(6 * k + k);
      expect(results[2 * k + 1]).toEqual({ values: [6 * k + 1, 6 * k + 2], errors: new Map() });
    });
  });

  it('interpolates mixed text the same after the first compile', async () => {
    const source = 'run {{ params.n }} of {{ $uppercase(record.who) }}!';
    for (let n = 0; n < 3; n++)
      expect(await compileTemplate(source, { params: { n } }).evaluate({ who: 'ada' })).toBe(
        `run ${n} of ADA!`,
      );
  });

  it('reports a syntax error every time, not only on the first compile', () => {
    for (let i = 0; i < 2; i++) expect(() => compileTemplate('{{ record. }}', {})).toThrow(ConfigError);
  });

  it('drops the least recently used entry beyond its size', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.size]).toEqual([1, 3, 2]);
  });
});
