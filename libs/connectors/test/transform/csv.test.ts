import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/transform/parse-csv.operation.ts';
import { toCsv } from '../../src/transform/to-csv.operation.ts';
import { inputProblems, opContext, runPage } from '../support/op-context.ts';

describe('transform.parseCsv', () => {
  it('parses rows into records named by the header row, keeping values as text', async () => {
    const body = 'id,name,amount\n1,Ada,1.50\n\n2,"Bob, Jr.","2"\n';
    const result = await runPage(parseCsv, {}, [{ body }]);
    expect(result.records).toEqual([
      { id: '1', name: 'Ada', amount: '1.50' },
      { id: '2', name: 'Bob, Jr.', amount: '2' },
    ]);
  });

  it('casts numbers, uses another delimiter and quote, and handles quoted newlines', async () => {
    const body = "id;note\r\n1;'multi\r\nline; with ''quotes'''\r\n2;x";
    const result = await runPage(parseCsv, { source: 'text', delimiter: ';', quote: "'", cast: true }, [
      { text: body },
    ]);
    expect(result.records).toEqual([
      { id: 1, note: "multi\r\nline; with 'quotes'" },
      { id: 2, note: 'x' },
    ]);
  });

  it('names fields by given columns, skipping the header row when there is one', async () => {
    const withHeader = await runPage(parseCsv, { columns: ['a', 'b'] }, [{ body: 'x,y\n1,2' }]);
    expect(withHeader.records).toEqual([{ a: '1', b: '2' }]);
    const without = await runPage(parseCsv, { header: false, columns: ['a', 'b'] }, [{ body: 'x,y\n1,2' }]);
    expect(without.records).toEqual([
      { a: 'x', b: 'y' },
      { a: '1', b: '2' },
    ]);
    const positional = await runPage(parseCsv, { header: false }, [{ body: 'x,y\n1,2' }]);
    expect(positional.records).toEqual([
      { column1: 'x', column2: 'y' },
      { column1: '1', column2: '2' },
    ]);
  });

  it('fails a record whose text is not valid CSV, naming the line, and goes on', async () => {
    const result = await runPage(parseCsv, {}, [
      { body: 'a,b\n1,2\n3' },
      { body: 'a\n"open' },
      { body: 'a\nok' },
    ]);
    expect(result.records).toEqual([{ a: 'ok' }]);
    expect(result.errors).toEqual([
      { index: 0, message: expect.stringMatching(/^field "body" is not valid CSV: .*line 3/) },
      { index: 1, message: expect.stringMatching(/^field "body" is not valid CSV: .*quote/i) },
    ]);
  });

  it('parses a large text in chunks with multi-byte characters intact', async () => {
    const rows = 60_000;
    const lines = ['id,city'];
    for (let i = 0; i < rows; i++) lines.push(`${i},Zürich 日本 ${'😀'.repeat(i % 3)}`);
    const body = lines.join('\n');
    expect(body.length).toBeGreaterThan(1_000_000); // several parser chunks
    const result = await runPage(parseCsv, { cast: true }, [{ body }]);
    expect(result.records).toHaveLength(rows);
    expect(result.records[59_998]).toEqual({ id: 59_998, city: 'Zürich 日本 😀' });
    expect(result.records.every((r, i) => r.city === `Zürich 日本 ${'😀'.repeat(i % 3)}`)).toBe(true);
  });

  it('stops when the run is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = opContext({ signal: controller.signal });
    await expect(runPage(parseCsv, {}, [{ body: 'a\n1' }], ctx)).rejects.toThrow(/cancelled/);
  });

  it('rejects bad options', () => {
    expect(inputProblems(parseCsv, { quote: '""' })[0]).toMatch(/^quote: /);
    expect(inputProblems(parseCsv, { delimiter: ',', quote: ',' })[0]).toMatch(
      /^quote: the quote character must differ/,
    );
    expect(inputProblems(parseCsv, { headers: true })[0]).toMatch(/Unrecognized key.*headers/);
  });
});

describe('transform.toCsv', () => {
  const page = [
    { id: 1, name: 'Ada', tags: ['a', 'b'], active: true, note: null },
    { id: 2, name: 'Bob, "Jr."', tags: [], active: false, extra: 'x' },
  ];

  it('writes one {csv, count} record per page with a header and the fields of the page', async () => {
    const result = await runPage(toCsv, {}, page);
    expect(result.records).toEqual([
      {
        csv: 'id,name,tags,active,note,extra\n1,Ada,"[""a"",""b""]",true,,\n2,"Bob, ""Jr.""",[],false,,x\n',
        count: 2,
      },
    ]);
  });

  it('writes the header on the first page only, with the first page’s columns, so pages join into one CSV', async () => {
    const ctx = opContext();
    const input = {
      columns: ['id', { key: 'name', header: 'Name' }],
      delimiter: ';',
      recordDelimiter: 'windows',
    };
    const first = await runPage(toCsv, input, [page[0]], ctx);
    const second = await runPage(toCsv, input, [page[1]], ctx);
    expect(`${String(first.records[0].csv)}${String(second.records[0].csv)}`).toBe(
      'id;Name\r\n1;Ada\r\n2;"Bob, ""Jr."""\r\n',
    );
  });

  it('repeats the header per page when asked, or leaves it out', async () => {
    const ctx = opContext();
    await runPage(toCsv, { repeatHeader: true, columns: ['id'] }, [page[0]], ctx);
    const again = await runPage(toCsv, { repeatHeader: true, columns: ['id'] }, [page[1]], ctx);
    expect(again.records[0].csv).toBe('id\n2\n');
    const none = await runPage(toCsv, { header: false, columns: ['id'] }, page);
    expect(none.records[0]).toEqual({ csv: '1\n2\n', count: 2 });
  });

  it('adds a CSV line to each record in perRecord mode', async () => {
    const result = await runPage(toCsv, { mode: 'perRecord', columns: ['id', 'name'], target: 'line' }, page);
    expect(result.records.map((r) => r.line)).toEqual(['1,Ada', '2,"Bob, ""Jr."""']);
    expect(result.records[0].id).toBe(1);
  });

  it('guards against spreadsheet formulas when asked', async () => {
    const result = await runPage(toCsv, { escapeFormulas: true, header: false }, [{ v: '=HYPERLINK("x")' }]);
    expect(result.records[0].csv).toBe(`"'=HYPERLINK(""x"")"\n`);
  });

  it('fails only a record that has no CSV form', async () => {
    const result = await runPage(toCsv, { header: false, columns: ['v'] }, [
      { v: 1 },
      { v: { big: 10n } },
      { v: 3 },
    ]);
    expect(result.records).toEqual([{ csv: '1\n3\n', count: 2 }]);
    expect(result.errors).toEqual([
      { index: 1, message: expect.stringMatching(/^cannot write as CSV: .*BigInt/) },
    ]);
  });

  it('round-trips through parseCsv', async () => {
    const rows = [
      { a: 'x,y', b: 'line\nbreak', c: 'quote " inside' },
      { a: '', b: ' spaced ', c: 'plain' },
    ];
    const csv = await runPage(toCsv, {}, rows);
    const back = await runPage(parseCsv, { source: 'csv', skipEmptyLines: false }, csv.records);
    expect(back.records).toEqual(rows);
  });

  it('rejects bad options', () => {
    expect(inputProblems(toCsv, { mode: 'perrecord' })[0]).toMatch(/^mode: /);
    expect(inputProblems(toCsv, { columns: [{ key: 'a' }] })[0]).toMatch(/^columns\.0/);
  });
});
