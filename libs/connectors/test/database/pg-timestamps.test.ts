import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { fastTimestampParser } from '../../src/database/pg-timestamps.ts';
import { postgresAdmin } from '../support/db-context.ts';

const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;
const pgParse = (oid: number) => pg.types.getTypeParser(oid, 'text') as (text: string) => unknown;

/** What a parser gives, comparable with toEqual: a Date's time (NaN as a string), or the value. */
function outcome(value: unknown): unknown {
  if (value instanceof Date) return { date: String(value.getTime()) };
  return { value };
}

let admin: pg.Client;
beforeAll(async () => {
  admin = await postgresAdmin();
});
afterAll(async () => {
  await admin.end();
});

describe('fastTimestampParser', () => {
  // what went to pg's parser: the usual shapes must not (that is the point), the rest must
  const fellBack: string[] = [];
  const counted = (oid: number) => (text: string) => {
    fellBack.push(text);
    return pgParse(oid)(text);
  };
  const withZone = fastTimestampParser(true, counted(TIMESTAMPTZ_OID));
  const local = fastTimestampParser(false, counted(TIMESTAMP_OID));

  it('gives the same Date as pg for timestamptz text in every zone shape and fraction', () => {
    const texts = [
      '2026-11-25 16:21:33+00',
      '2026-11-25 16:21:33.1+00',
      '2026-11-25 16:21:33.57+00', // 1000 × 0.57 is 569.99…: pg truncates it to 569 ms, and so must we
      '2026-11-25 16:21:33.123456+00',
      '2026-11-25 16:21:33.999999-08',
      '2026-03-29 02:30:00+05:30',
      '1850-01-01 00:00:00+00:19:32',
      '1999-12-31 23:59:59.5-03:30',
      '1000-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999+14',
      // left to pg's parser: BC, infinity, years < 1000 or > 9999, other DateStyles, junk
      '0099-01-01 00:00:00+00',
      '0001-01-01 00:00:00+00 BC',
      '12345-01-01 00:00:00+00',
      'infinity',
      '-infinity',
      'Wed Nov 25 16:21:33 2026 UTC',
      '2026-11-25T16:21:33Z',
      '2026-11-25 16:21:33.+00',
      '2026-11-25 16:21:33+0',
    ];
    fellBack.length = 0;
    for (const text of texts)
      expect(outcome(withZone(text)), text).toEqual(outcome(pgParse(TIMESTAMPTZ_OID)(text)));
    expect(fellBack).toEqual(texts.slice(10));
  });

  it('rounds fractions of a second to the very millisecond pg gives, for every fraction tried', () => {
    const fractions = ['1', '5', '9'];
    for (let n = 0; n < 1000; n++) fractions.push(String(n).padStart(2, '0'), String(n).padStart(3, '0'));
    for (let n = 0; n < 2000; n++) fractions.push(String(Math.floor(Math.random() * 1e6)).padStart(6, '0'));
    fellBack.length = 0;
    for (const f of fractions) {
      const text = `2026-11-25 16:21:33.${f}+00`;
      expect(outcome(withZone(text)), text).toEqual(outcome(pgParse(TIMESTAMPTZ_OID)(text)));
    }
    expect(fellBack).toEqual([]);
  });

  it('gives the same Date as pg for timestamp text, in local time whatever the zone', () => {
    const texts = [
      '2026-11-25 16:21:33',
      '2026-11-25 16:21:33.123456',
      '2026-03-29 02:30:00.57',
      '1000-01-01 00:00:00',
      '0050-06-15 12:00:00',
      '2026-11-25 16:21:33+01',
      'infinity',
    ];
    const zone = process.env.TZ;
    try {
      for (const tz of ['UTC', 'America/St_Johns', 'Asia/Kolkata']) {
        process.env.TZ = tz;
        fellBack.length = 0;
        for (const text of texts)
          expect(outcome(local(text)), `${text} in ${tz}`).toEqual(outcome(pgParse(TIMESTAMP_OID)(text)));
        expect(fellBack).toEqual(texts.slice(4));
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('agrees with pg on what the server prints, across zones, offsets in seconds and fractions', async () => {
    fellBack.length = 0;
    const zones = ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Kiritimati'];
    for (const zone of zones) {
      await admin.query(`SET TimeZone = '${zone}'`);
      const r = await admin.query<{ tz: string; ts: string }>(
        `SELECT t::text AS tz, t::timestamp::text AS ts
         FROM (SELECT timestamptz '1850-06-01 00:00:00+00' + g * interval '7 days 3 hours 17 minutes 0.012345 seconds' AS t
               FROM generate_series(0, 9000, 7) g) s`,
      );
      for (const { tz, ts } of r.rows) {
        expect(outcome(withZone(tz)), tz).toEqual(outcome(pgParse(TIMESTAMPTZ_OID)(tz)));
        expect(outcome(local(ts)), ts).toEqual(outcome(pgParse(TIMESTAMP_OID)(ts)));
      }
    }
    await admin.query('RESET TimeZone');
    expect(fellBack).toEqual([]);
  });
});
