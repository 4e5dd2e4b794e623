import type xml2js from 'xml2js';
import { lazyImport } from '../shared/lazy-import.ts';

// The parsing libraries of the transform operations, imported on first use, so a flow that
// converts no XML or CSV never loads them.
export const loadXml2js = lazyImport<typeof xml2js>(() => import('xml2js').then((m) => m.default));
export const loadCsvParse = lazyImport(() => import('csv-parse'));
export const loadCsvStringify = lazyImport(() => import('csv-stringify/sync'));
