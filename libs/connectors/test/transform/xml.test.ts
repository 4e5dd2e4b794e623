import { describe, expect, it } from 'vitest';
import { fromXml } from '../../src/transform/from-xml.operation.ts';
import { toXml } from '../../src/transform/to-xml.operation.ts';
import { inputProblems, runPage } from '../support/op-context.ts';

describe('transform.toXml', () => {
  it('writes each record as an XML document in the target field', async () => {
    const result = await runPage(toXml, { rootName: 'order', headless: true }, [{ id: '1', item: 'tea' }]);
    expect(result.records).toEqual([
      { id: '1', item: 'tea', xml: '<order><id>1</id><item>tea</item></order>' },
    ]);
  });

  it('keeps a one-field record under the root instead of promoting the field', async () => {
    const result = await runPage(toXml, { headless: true, keep: false, target: 'doc' }, [{ only: 'x' }]);
    expect(result.records).toEqual([{ doc: '<root><only>x</only></root>' }]);
  });

  it('converts a single field, with a declaration and pretty printing', async () => {
    const result = await runPage(toXml, { field: 'payload', pretty: true, keep: false }, [
      { payload: { a: { b: 'c' } } },
    ]);
    expect(result.records[0].xml).toBe(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<root>\n  <a>\n    <b>c</b>\n  </a>\n</root>',
    );
  });

  it('fails a record whose field name is not a valid XML name, and goes on', async () => {
    const result = await runPage(toXml, { headless: true }, [{ 'bad name': 1 }, { good: 2 }]);
    expect(result.records).toHaveLength(1);
    expect(result.errors).toEqual([
      { index: 0, message: expect.stringContaining('field "bad name" is not a valid XML element name') },
    ]);
  });

  it('rejects a bad root name and unknown options', () => {
    expect(inputProblems(toXml, { rootName: '1st' })[0]).toMatch(/^rootName: expected an XML name/);
    expect(inputProblems(toXml, { pretty: 'yes' })[0]).toMatch(/^pretty: .*boolean/);
    expect(inputProblems(toXml, { indent: 2 })[0]).toMatch(/Unrecognized key.*indent/);
  });
});

describe('transform.fromXml', () => {
  it('parses the source field and merges the root element into the record', async () => {
    const result = await runPage(fromXml, {}, [
      { id: 1, xml: '<root><name>Ada</name><langs>en</langs><langs>fr</langs></root>' },
    ]);
    expect(result.records).toEqual([{ id: 1, name: 'Ada', langs: ['en', 'fr'] }]);
  });

  it('puts the parsed object in target, keeping the source when asked, and parses numbers', async () => {
    const result = await runPage(
      fromXml,
      {
        source: 'body',
        target: 'doc',
        keepSource: true,
        parseNumbers: true,
        parseBooleans: true,
        explicitRoot: true,
      },
      [{ body: '<r a="1"><n>42</n><b>true</b></r>' }],
    );
    expect(result.records).toEqual([
      { body: '<r a="1"><n>42</n><b>true</b></r>', doc: { r: { $: { a: 1 }, n: 42, b: true } } },
    ]);
  });

  it('uses the configured attribute and text keys', async () => {
    const result = await runPage(fromXml, { attrKey: '@', charKey: '#text', target: 'v' }, [
      { xml: '<root><t lang="en">hi</t></root>' },
    ]);
    expect(result.records[0].v).toEqual({ t: { '@': { lang: 'en' }, '#text': 'hi' } });
  });

  it('fails a record with invalid XML, naming the line and column, and goes on', async () => {
    const result = await runPage(fromXml, {}, [
      { xml: '<root>\n<a></root>' },
      { xml: '<root/>' },
      { other: 1 },
    ]);
    expect(result.records).toEqual([{}]);
    expect(result.errors).toEqual([
      {
        index: 0,
        message: expect.stringMatching(
          /^field "xml" is not valid XML: Unexpected close tag at line 2, column \d+$/,
        ),
      },
      { index: 2, message: 'field "xml" is missing (expected text)' },
    ]);
  });

  it('reads elements named like Object.prototype members as plain data and never pollutes prototypes', async () => {
    const xml =
      '<root><__proto__><polluted>1</polluted></__proto__><constructor><prototype><p>1</p></prototype></constructor><toString>s</toString></root>';
    const result = await runPage(fromXml, { target: 'v' }, [{ xml }]);
    const v = result.records[0].v as Record<string, unknown>;
    expect(v).toEqual({ constructor: { prototype: { p: '1' } }, toString: 's' });
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('refuses entities declared in a DTD instead of reading external files', async () => {
    const xml =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><a>&x;</a></r>';
    const result = await runPage(fromXml, { target: 'v' }, [{ xml }]);
    expect(result.records).toEqual([]);
    expect(result.errors).toEqual([
      { index: 0, message: expect.stringContaining('Invalid character entity') },
    ]);
  });
});

describe('JSON → XML → JSON', () => {
  const records = [
    {
      id: '42',
      name: 'Tom & Jerry <co> "quoted" \'single\'',
      tags: ['a', 'b', 'c'],
      address: { street: '1 Main St', geo: { lat: '1.5', lng: '-2' } },
      note: { $: { lang: 'en', kind: 'a&b "<>"' }, _: 'text with <angle> & "quotes"' },
      items: [
        { $: { sku: 'X1' }, qty: '1' },
        { $: { sku: 'X2' }, qty: '2' },
      ],
      empty: '',
      unicode: 'Grüße ✓ 日本',
    },
    { $: { version: '2' }, plain: 'only' },
  ];

  it('round-trips typical records, attributes, arrays, nesting and special characters', async () => {
    const xml = await runPage(toXml, { keep: false, rootName: 'record' }, records);
    expect(xml.errors).toBeUndefined();
    expect(xml.records[0].xml).toContain('&amp; Jerry &lt;co&gt;');
    const back = await runPage(fromXml, {}, xml.records);
    expect(back.errors).toBeUndefined();
    expect(back.records).toEqual(records);
  });

  it('round-trips numbers and booleans when fromXml parses them', async () => {
    const typed = [{ n: 3.5, i: -7, yes: true, no: false, s: 'x' }];
    const xml = await runPage(toXml, { keep: false, pretty: true }, typed);
    const back = await runPage(fromXml, { parseNumbers: true, parseBooleans: true }, xml.records);
    expect(back.records).toEqual(typed);
  });
});
