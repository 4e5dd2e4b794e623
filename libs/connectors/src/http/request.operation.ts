import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  ConfigError,
  ConnectorError,
  TransientError,
  defineOperation,
  errorMessage,
  type StepLogger,
} from '@junction/flow';
import { abortError } from '../shared/abort.ts';
import { AuthSchema, authHeader } from './auth.ts';
import { encodeBody, parseBody } from './body.ts';
import { HeadersSchema, type HttpConnection } from './connection.schema.ts';
import { MAX_WAIT_MS, backoffMs, parseRetryAfter } from './retry-delay.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const RequestInput = z.strictObject({
  method: z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(METHODS)).default('GET'),
  url: z.string().min(1).meta({ description: "Absolute, or relative to the connection's baseUrl" }),
  headers: HeadersSchema.optional(),
  query: z
    .record(z.string(), z.union([scalar, z.array(scalar), z.null()]))
    .optional()
    .meta({ description: 'Added to the URL; a list repeats the name; null is left out' }),
  body: z.unknown().optional(),
  bodyType: z.enum(['json', 'form', 'text', 'xml']).default('json'),
  auth: AuthSchema.optional().meta({ description: "Overrides the connection's auth" }),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .default(30_000)
    .meta({ description: 'Per attempt (default 30 s)' }),
  retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(2)
    .meta({ description: 'Extra attempts on 5xx, 429 and network errors (default 2)' }),
  retryDelayMs: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .default(500)
    .meta({ description: 'First backoff, doubled each retry, when the server gives no Retry-After' }),
  responseType: z.enum(['auto', 'json', 'text', 'xml']).default('auto'),
  maxResponseBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024)
    .meta({
      description:
        'Largest response body read, in bytes (default 16 MiB); a larger one fails the record without being read whole',
    }),
  failOnStatus: z
    .boolean()
    .default(true)
    .meta({ description: 'A non-2xx status (after retries) fails the record; false passes it on as output' }),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: 'Requests in flight (default 4)' }),
});
export type RequestInput = z.output<typeof RequestInput>;

export interface HttpResponseRecord {
  [key: string]: unknown;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export const request = defineOperation<RequestInput, HttpConnection | undefined>({
  name: 'request',
  title: 'HTTP request',
  description:
    'Sends a request per record; outputs {status, headers, body} with the body parsed by its type.',
  kind: 'action',
  concurrency: 4,
  input: RequestInput,
  execute: (ctx, input) => performRequest(ctx, ctx.connection ?? undefined, input),
});

/** What a request needs of its step: cancellation and a log. */
export interface RequestEnv {
  signal: AbortSignal;
  log: StepLogger;
}

/** Sends the request, retrying as the input says, and returns the final response as a record. */
export async function performRequest(
  env: RequestEnv,
  connection: HttpConnection | undefined,
  input: RequestInput,
): Promise<HttpResponseRecord> {
  return send(env, input, await prepare(connection, input));
}

interface PreparedCall {
  url: URL;
  init: { method: string; headers: Headers; body?: string };
  /** Method and URL without its query string (which may hold a key), for messages. */
  label: string;
}

async function prepare(connection: HttpConnection | undefined, input: RequestInput): Promise<PreparedCall> {
  const url = resolveUrl(input.url, connection?.baseUrl);
  for (const [name, value] of Object.entries(input.query ?? {})) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(connection?.headers ?? {})) headers.set(k, String(v));
  for (const [k, v] of Object.entries(input.headers ?? {})) headers.set(k, String(v));
  const auth = input.auth ?? connection?.auth;
  if (auth) headers.set(...authHeader(auth));

  const init: PreparedCall['init'] = { method: input.method, headers };
  if (input.body !== undefined && input.body !== null) {
    if (input.method === 'GET' || input.method === 'HEAD')
      throw new ConfigError(`body: a ${input.method} request cannot have a body`);
    const encoded = await encodeBody(input.body, input.bodyType);
    init.body = encoded.payload;
    if (!headers.has('content-type')) headers.set('content-type', encoded.contentType);
  }
  return { url, init, label: `${input.method} ${url.origin}${url.pathname}` };
}

function resolveUrl(raw: string, baseUrl: string | undefined): URL {
  let text = raw;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(raw)) {
    if (baseUrl === undefined)
      throw new ConfigError(`url: "${raw}" is relative, and there is no connection with a baseUrl`);
    text = `${baseUrl.replace(/\/+$/, '')}/${raw.replace(/^\/+/, '')}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`url: expected an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`url: expected an http(s) URL, got the scheme "${url.protocol}"`);
  return url;
}

type Attempt = { ok: true; response: Response; text: string } | { ok: false; error: ConnectorError };

async function attempt(
  ctx: RequestEnv,
  call: PreparedCall,
  timeoutMs: number,
  maxBytes: number,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(call.url, { ...call.init, signal: AbortSignal.any([ctx.signal, timeout]) });
    return { ok: true, response, text: await readText(response, maxBytes, call) };
  } catch (e) {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    if (e instanceof ResponseTooLarge) return { ok: false, error: e };
    if (timeout.aborted)
      return {
        ok: false,
        error: new TransientError(`${call.label} timed out after ${timeoutMs} ms`, { cause: e }),
      };
    return { ok: false, error: networkError(e, call) };
  }
}

/** A response body over maxResponseBytes: not retried (the same request gets the same answer). */
class ResponseTooLarge extends ConnectorError {
  constructor(call: PreparedCall, limit: number) {
    super(`${call.label}: the response body is larger than maxResponseBytes (${limit} bytes)`, {
      retryable: false,
    });
  }
}

/** The body as text, read chunk by chunk up to `limit` bytes (a declared larger length is refused unread). */
async function readText(response: Response, limit: number, call: PreparedCall): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw new ResponseTooLarge(call, limit);
  }
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  // leaving the loop early (too large) cancels the stream and frees the connection
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new ResponseTooLarge(call, limit);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

async function send(ctx: RequestEnv, input: RequestInput, call: PreparedCall): Promise<HttpResponseRecord> {
  for (let n = 0; ; n++) {
    const result = await attempt(ctx, call, input.timeoutMs, input.maxResponseBytes);
    const retriesLeft = n < input.retries;
    if (!result.ok) {
      if (!retriesLeft || !result.error.retryable) throw withAttempts(result.error, n + 1);
      await wait(ctx.signal, backoffMs(n, input.retryDelayMs));
      continue;
    }
    const { response, text } = result;
    const status = response.status;
    if (status === 429 || status >= 500) {
      const asked = parseRetryAfter(response.headers.get('retry-after'));
      const delay = asked ?? backoffMs(n, input.retryDelayMs);
      if (retriesLeft && delay <= MAX_WAIT_MS) {
        ctx.log.debug(`${call.label}: HTTP ${status}, retrying in ${delay} ms`);
        await wait(ctx.signal, delay);
        continue;
      }
    }
    if (input.failOnStatus && (status < 200 || status >= 300)) throw statusError(response, text, call, n + 1);
    return {
      status,
      headers: Object.fromEntries(response.headers),
      body: await responseBody(response, text, input, call),
    };
  }
}

async function responseBody(
  response: Response,
  text: string,
  input: RequestInput,
  call: PreparedCall,
): Promise<unknown> {
  try {
    return await parseBody(text, response.headers.get('content-type') ?? '', input.responseType);
  } catch (e) {
    // An error page in the wrong format is still worth showing as it is.
    if (!response.ok) return text;
    throw new ConnectorError(`${call.label}: ${errorMessage(e)}`, { retryable: false, cause: e });
  }
}

function statusError(response: Response, text: string, call: PreparedCall, attempts: number): ConnectorError {
  const status = response.status;
  const snippet = text.trim().slice(0, 300);
  const message =
    `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''} from ${call.label}` +
    (attempts > 1 ? ` after ${attempts} attempts` : '') +
    (snippet ? `: ${snippet}` : '');
  if (status === 429 || status >= 500)
    return new TransientError(message, {
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  if (status === 401 || status === 403) return new ConfigError(message);
  return new ConnectorError(message, { retryable: false });
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed, temporarily',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** fetch's "fetch failed" says nothing; its cause has the code that does. */
function networkError(e: unknown, call: PreparedCall): ConnectorError {
  let cause: unknown = e;
  while (typeof cause === 'object' && cause !== null && 'cause' in cause && !('code' in cause))
    cause = cause.cause;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  const reason = code !== undefined ? (NETWORK_CODES[code] ?? code) : errorMessage(cause);
  // fetch refuses ports of other protocols (25, 6000...) before connecting
  if (reason === 'bad port')
    return new ConfigError(`url: port ${call.url.port} is reserved for another protocol, fetch refuses it`, {
      cause: e,
    });
  return new TransientError(`${call.label}: ${reason}`, { cause: e });
}

function withAttempts(error: ConnectorError, attempts: number): ConnectorError {
  if (attempts === 1 || !(error instanceof TransientError)) return error;
  return new TransientError(`${error.message} (after ${attempts} attempts)`, { cause: error.cause });
}

async function wait(signal: AbortSignal, ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw abortError(signal);
  }
}
