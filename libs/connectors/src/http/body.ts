import type xml2js from 'xml2js';
import { ConfigError, errorMessage } from '@junction/flow';
import { lazyImport } from '../shared/lazy-import.ts';

/** Imported on the first XML body, so requests without XML never load it. */
const loadXml2js = lazyImport<typeof xml2js>(() => import('xml2js').then((m) => m.default));

export type BodyType = 'json' | 'form' | 'text' | 'xml';
export type ResponseType = 'auto' | 'json' | 'text' | 'xml';

const CONTENT_TYPES: Record<BodyType, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  text: 'text/plain; charset=utf-8',
  xml: 'application/xml',
};

export interface EncodedBody {
  payload: string;
  contentType: string;
}

/** The request body as text of its type; a string is sent as it is, whatever the type. */
export async function encodeBody(body: unknown, type: BodyType): Promise<EncodedBody> {
  const contentType = CONTENT_TYPES[type];
  if (typeof body === 'string') return { payload: body, contentType };
  switch (type) {
    case 'json':
      return { payload: JSON.stringify(body), contentType };
    case 'text':
      return {
        payload:
          typeof body === 'number' || typeof body === 'boolean' || typeof body === 'bigint'
            ? String(body)
            : JSON.stringify(body),
        contentType,
      };
    case 'form':
      return { payload: formEncode(body), contentType };
    case 'xml':
      return { payload: await xmlEncode(body), contentType };
  }
}

function formEncode(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ConfigError('body: bodyType "form" needs an object of fields (or a string already encoded)');
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) {
    for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
      if (item === undefined || item === null) continue;
      form.append(
        k,
        typeof item === 'object' ? JSON.stringify(item) : String(item as string | number | boolean),
      );
    }
  }
  return form.toString();
}

async function xmlEncode(body: unknown): Promise<string> {
  if (typeof body !== 'object' || body === null)
    throw new ConfigError(
      'body: bodyType "xml" needs an object (its single key is the root element) or a string',
    );
  const { Builder } = await loadXml2js();
  try {
    return new Builder().buildObject(body);
  } catch (e) {
    throw new ConfigError(`body: cannot build XML: ${errorMessage(e)}`, { cause: e });
  }
}

function kindOf(contentType: string): 'json' | 'xml' | 'text' {
  const mime = contentType.split(';')[0].trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json';
  if (mime === 'application/xml' || mime === 'text/xml' || mime.endsWith('+xml')) return 'xml';
  return 'text';
}

/**
 * The response body as a value: JSON parsed, XML as an object (xml2js, single children not
 * wrapped in arrays, attributes under `$`), anything else as text. `auto` goes by Content-Type.
 * An empty JSON or XML body is null.
 */
export async function parseBody(text: string, contentType: string, as: ResponseType): Promise<unknown> {
  const kind = as === 'auto' ? kindOf(contentType) : as;
  if (kind === 'text') return text;
  if (text.trim() === '') return null;
  if (kind === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(`the response is not valid JSON: ${errorMessage(e)}`, { cause: e });
    }
  }
  try {
    const { parseStringPromise } = await loadXml2js();
    return (await parseStringPromise(text, { explicitArray: false })) as unknown;
  } catch (e) {
    throw new Error(`the response is not valid XML: ${errorMessage(e).split('\n')[0]}`, { cause: e });
  }
}
