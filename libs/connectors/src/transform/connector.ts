import { defineConnector } from '@junction/flow';
import { filter } from './filter.operation.ts';
import { fromXml } from './from-xml.operation.ts';
import { map } from './map.operation.ts';
import { parseCsv } from './parse-csv.operation.ts';
import { parseJson } from './parse-json.operation.ts';
import { toCsv } from './to-csv.operation.ts';
import { toXml } from './to-xml.operation.ts';

/** Record-to-record transforms that need no connection: mapping, filtering and format conversions. */
export const connector = defineConnector({
  id: 'transform',
  title: 'Transform',
  version: '1.0.0',
  description: 'Maps, filters and converts records between JSON, XML and CSV.',
  operations: { map, filter, toXml, fromXml, parseJson, parseCsv, toCsv },
});
