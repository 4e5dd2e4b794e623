import { describe, expect, it } from 'vitest';
import { encodeCopyText } from '../../src/database/copy-text.ts';

const text = (rows: Record<string, unknown>[], columns: string[]): string | undefined => {
  const data = encodeCopyText(rows, columns);
  return data && Buffer.concat(data.chunks).toString('utf8');
};

describe('encodeCopyText', () => {
  it('writes tab-separated lines, \\N for NULL and missing fields, and escapes \\ tab newline and CR', () => {
    const rows = [
      { a: 'plain', b: 1, c: true },
      { a: 'tab\there\nnew\rline \\N back\\slash', b: null, c: false },
      { a: '', b: -0.5 },
    ];
    expect(text(rows, ['a', 'b', 'c'])).toBe(
      'plain\t1\ttrue\n' + 'tab\\there\\nnew\\rline \\\\N back\\\\slash\t\\N\tfalse\n' + '\t-0.5\t\\N\n',
    );
  });

  it('writes values as the JSON path does: dates as ISO text, bigints, bytes as \\x hex, objects as JSON', () => {
    const rows = [
      {
        d: new Date('2026-11-25T10:00:00.123Z'),
        big: 2n ** 70n,
        bytes: Buffer.from([0, 255, 16]),
        doc: { x: 'a\tb', list: [1, null] },
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        bad: new Date(Number.NaN),
        withJson: { toJSON: () => 'as\ttext' },
      },
    ];
    expect(text(rows, ['d', 'big', 'bytes', 'doc', 'nan', 'inf', 'bad', 'withJson'])).toBe(
      '2026-11-25T10:00:00.123Z\t1180591620717411303424\t\\\\x00ff10\t{"x":"a\\\\tb","list":[1,null]}\t\\N\t\\N\t\\N\tas\\ttext\n',
    );
  });

  it('keeps non-ASCII text intact across chunk boundaries', () => {
    const long = 'é€😀'.repeat(20_000); // 180,000 UTF-8 bytes: more than one chunk
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: i, s: long }));
    const data = encodeCopyText(rows, ['id', 's']);
    expect(data?.chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(data?.chunks ?? []).toString('utf8')).toBe(
      rows.map((r) => `${r.id}\t${long}\n`).join(''),
    );
  });

  it('declines what it cannot write faithfully, leaving it to the statement path', () => {
    expect(text([{ s: 'lone \ud800 surrogate' }], ['s'])).toBeUndefined();
    expect(text([{ o: { n: 1n } }], ['o'])).toBeUndefined();
  });
});
