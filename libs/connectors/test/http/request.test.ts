import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectorError, TransientError } from '@junction/flow';
import { connector } from '../../src/http/connector.ts';
import { HttpConnectionSchema, type HttpConnection } from '../../src/http/connection.schema.ts';
import { RequestInput, request, type HttpResponseRecord } from '../../src/http/request.operation.ts';
import { parseRetryAfter } from '../../src/http/retry-delay.ts';
import { dbContext } from '../support/db-context.ts';
import { closedPort, sendJson, startHttpServer, type TestHttpServer } from '../support/http-test-server.ts';

let server: TestHttpServer;

beforeAll(async () => {
  server = await startHttpServer();
  server.route('/echo', (req, res) => sendJson(res, 200, req, { 'x-trace': 'abc' }));
  server.route('/xml', (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/xml' })
      .end('<order id="7"><item>a</item><item>b</item></order>');
  });
  server.route('/text', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words');
  });
  server.route('/bad', (_req, res) => sendJson(res, 400, { error: 'name is required' }));
  server.route('/forbidden', (_req, res) => sendJson(res, 403, { error: 'no' }));
  server.route('/slow', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if (!res.destroyed) sendJson(res, 200, { late: true });
  });
});

afterAll(async () => {
  await server.close();
});

/** Sends one request through the operation, as the engine would for one record. */
async function call(
  withInput: Record<string, unknown>,
  options: { connection?: HttpConnection; signal?: AbortSignal } = {},
) {
  const ctx = dbContext<HttpConnection | undefined>(options.connection, { signal: options.signal });
  return (await request.execute(ctx, RequestInput.parse(withInput), {})) as HttpResponseRecord;
}

/** A route that answers with `failures` before it succeeds; counts the calls. */
function flaky(path: string, failures: { status: number; headers?: Record<string, string> }[]): () => number {
  let calls = 0;
  server.route(path, (_req, res) => {
    const failure = failures[calls++];
    if (failure) sendJson(res, failure.status, { attempt: calls }, failure.headers);
    else sendJson(res, 200, { attempt: calls });
  });
  return () => calls;
}

describe('http.request', () => {
  it('sends the method, query (lists repeated) and headers, and returns status, headers and parsed JSON', async () => {
    const out = await call({
      method: 'delete',
      url: `${server.url}/echo`,
      query: { id: 5, tag: ['a', 'b'], skip: null },
      headers: { 'X-Custom': 'yes' },
    });
    expect(out.status).toBe(200);
    expect(out.headers['x-trace']).toBe('abc');
    expect(out.body).toMatchObject({
      method: 'DELETE',
      path: '/echo',
      query: { id: ['5'], tag: ['a', 'b'] },
      headers: { 'x-custom': 'yes' },
    });
  });

  it('encodes a JSON body with its content type', async () => {
    const out = await call({
      method: 'POST',
      url: `${server.url}/echo`,
      body: { name: 'Ann', tags: [1, 2] },
    });
    expect(out.body).toMatchObject({
      body: '{"name":"Ann","tags":[1,2]}',
      headers: { 'content-type': 'application/json' },
    });
  });

  it('encodes a form body, repeating list fields', async () => {
    const out = await call({
      method: 'POST',
      url: `${server.url}/echo`,
      bodyType: 'form',
      body: { a: 'x y', b: [1, 2] },
    });
    expect(out.body).toMatchObject({
      body: 'a=x+y&b=1&b=2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  });

  it('sends a text body as it is', async () => {
    const out = await call({
      method: 'PUT',
      url: `${server.url}/echo`,
      bodyType: 'text',
      body: 'hello {there}',
    });
    expect(out.body).toMatchObject({
      method: 'PUT',
      body: 'hello {there}',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  });

  it('builds an XML body from an object, and sends an XML string as it is', async () => {
    const built = await call({
      method: 'POST',
      url: `${server.url}/echo`,
      bodyType: 'xml',
      body: { order: { $: { id: '7' }, item: ['a', 'b'] } },
    });
    expect((built.body as { body: string }).body).toContain(
      '<order id="7">\n  <item>a</item>\n  <item>b</item>\n</order>',
    );
    expect((built.body as { headers: Record<string, string> }).headers['content-type']).toBe(
      'application/xml',
    );
    const raw = await call({ method: 'POST', url: `${server.url}/echo`, bodyType: 'xml', body: '<a>1</a>' });
    expect((raw.body as { body: string }).body).toBe('<a>1</a>');
  });

  it('parses the response by content type: XML to an object, text as text', async () => {
    expect((await call({ url: `${server.url}/xml` })).body).toEqual({
      order: { $: { id: '7' }, item: ['a', 'b'] },
    });
    expect((await call({ url: `${server.url}/text` })).body).toBe('plain words');
    expect((await call({ url: `${server.url}/xml`, responseType: 'text' })).body).toContain('<order id="7">');
  });

  it('sends basic, bearer and API-key auth', async () => {
    const headersOf = async (auth: unknown) =>
      ((await call({ url: `${server.url}/echo`, auth })).body as { headers: Record<string, string> }).headers;
    expect((await headersOf({ type: 'basic', username: 'ann', password: 'p:w' })).authorization).toBe(
      `Basic ${Buffer.from('ann:p:w').toString('base64')}`,
    );
    expect((await headersOf({ type: 'bearer', token: 't0k' })).authorization).toBe('Bearer t0k');
    expect((await headersOf({ type: 'apiKey', header: 'X-Key', value: 'k1' }))['x-key']).toBe('k1');
    expect((await headersOf({ type: 'apiKey', value: 'k2' }))['x-api-key']).toBe('k2');
  });

  it("takes the base URL, headers and auth from the connection; the step's own win", async () => {
    const connection = HttpConnectionSchema.parse({
      type: 'http',
      baseUrl: `${server.url}/`,
      headers: { 'x-a': 'conn', 'x-b': 'conn' },
      auth: { type: 'bearer', token: 'from-connection' },
    });
    const out = await call({ url: '/echo', headers: { 'x-b': 'step' } }, { connection });
    expect(out.body).toMatchObject({
      path: '/echo',
      headers: { 'x-a': 'conn', 'x-b': 'step', authorization: 'Bearer from-connection' },
    });
    const overridden = await call({ url: 'echo', auth: { type: 'bearer', token: 'step' } }, { connection });
    expect((overridden.body as { headers: Record<string, string> }).headers.authorization).toBe(
      'Bearer step',
    );
  });

  it('retries a 503 and succeeds', async () => {
    const calls = flaky('/flaky-503', [{ status: 503 }, { status: 503 }]);
    const out = await call({ url: `${server.url}/flaky-503`, retryDelayMs: 10 });
    expect(out).toMatchObject({ status: 200, body: { attempt: 3 } });
    expect(calls()).toBe(3);
  });

  it('waits as long as a 429 Retry-After says before retrying', async () => {
    const calls = flaky('/limited', [{ status: 429, headers: { 'retry-after': '1' } }]);
    const started = Date.now();
    const out = await call({ url: `${server.url}/limited`, retryDelayMs: 1 });
    expect(out.status).toBe(200);
    expect(calls()).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after the retries with a transient error saying how it went', async () => {
    const calls = flaky('/down', [{ status: 502 }, { status: 502 }, { status: 502 }, { status: 502 }]);
    const error = await call({ url: `${server.url}/down?key=secret`, retries: 1, retryDelayMs: 10 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe(
      `HTTP 502 Bad Gateway from GET ${server.url}/down after 2 attempts: {"attempt":2}`,
    );
    expect(calls()).toBe(2);
  });

  it('leaves a Retry-After longer than a minute to the engine, with the wait on the error', async () => {
    const calls = flaky('/come-back-later', [{ status: 429, headers: { 'retry-after': '3600' } }]);
    const error = await call({ url: `${server.url}/come-back-later` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(3_600_000);
    expect(calls()).toBe(1);
  });

  it('does not retry a 400, and fails with the response in the message', async () => {
    const before = server.requests.length;
    const error = await call({ method: 'POST', url: `${server.url}/bad`, body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).retryable).toBe(false);
    expect((error as Error).message).toBe(
      `HTTP 400 Bad Request from POST ${server.url}/bad: {"error":"name is required"}`,
    );
    expect(server.requests.length - before).toBe(1);
  });

  it('reports refused credentials as a configuration error', async () => {
    await expect(call({ url: `${server.url}/forbidden` })).rejects.toBeInstanceOf(ConfigError);
  });

  it('returns a non-2xx response as output when failOnStatus is false', async () => {
    const out = await call({ url: `${server.url}/bad`, failOnStatus: false });
    expect(out).toMatchObject({ status: 400, body: { error: 'name is required' } });
  });

  it('refuses a response body over maxResponseBytes, declared or streamed, without retrying', async () => {
    let calls = 0;
    server.route('/big-declared', (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2048 }).end('x'.repeat(2048));
    });
    // chunked: no length up front, so the limit is found while reading
    server.route('/big-chunked', (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('y'.repeat(1000));
      res.end('y'.repeat(1000));
    });
    for (const path of ['/big-declared', '/big-chunked']) {
      const failure = await call({ url: `${server.url}${path}`, maxResponseBytes: 1024 }).catch(
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(ConnectorError);
      expect((failure as ConnectorError).retryable).toBe(false);
      expect((failure as Error).message).toContain('larger than maxResponseBytes (1024 bytes)');
    }
    expect(calls).toBe(2);
    const fits = await call({ url: `${server.url}/big-chunked`, maxResponseBytes: 2000 });
    expect(fits.body).toBe('y'.repeat(2000));
  });

  it('times out a slow response', async () => {
    const started = Date.now();
    const error = await call({ url: `${server.url}/slow`, timeoutMs: 200, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe(`GET ${server.url}/slow timed out after 200 ms`);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops at once when the signal aborts, without retrying', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const before = server.requests.length;
    const started = Date.now();
    const error = await call({ url: `${server.url}/slow` }, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.requests.length - before).toBe(1);
  });

  it('says clearly that nothing listens on a wrong port, after retrying', async () => {
    const port = await closedPort();
    const error = await call({ url: `http://127.0.0.1:${port}/x`, retries: 1, retryDelayMs: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe(
      `GET http://127.0.0.1:${port}/x: connection refused (after 2 attempts)`,
    );
  });

  it('names a port fetch refuses to call', async () => {
    const error = await call({ url: 'http://127.0.0.1:1/x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('url: port 1 is reserved for another protocol, fetch refuses it');
  });

  it('rejects a body on GET, a relative URL without a base and a non-http scheme', async () => {
    await expect(call({ url: `${server.url}/echo`, body: { a: 1 } })).rejects.toThrow(
      'body: a GET request cannot have a body',
    );
    await expect(call({ url: '/echo' })).rejects.toThrow(
      'url: "/echo" is relative, and there is no connection with a baseUrl',
    );
    await expect(call({ url: 'file:///etc/passwd' })).rejects.toThrow(
      'url: expected an http(s) URL, got the scheme "file:"',
    );
  });
});

describe('http connection', () => {
  it('marks the secrets of every auth kind', () => {
    const json = JSON.stringify(HttpConnectionSchema.toJSONSchema());
    expect(json.match(/"secret":true/g)).toHaveLength(3); // basic password, bearer token, apiKey value
  });

  it('test() reaches the base URL, and names refused credentials', async () => {
    const signal = new AbortController().signal;
    const ok = HttpConnectionSchema.parse({ type: 'http', baseUrl: `${server.url}/text` });
    await expect(connector.test!(ok, signal)).resolves.toBeUndefined();
    const refused = HttpConnectionSchema.parse({ type: 'http', baseUrl: `${server.url}/forbidden` });
    await expect(connector.test!(refused, signal)).rejects.toThrow(
      /^HTTP 403 from .*credentials were refused/,
    );
    const nobody = HttpConnectionSchema.parse({
      type: 'http',
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
    });
    await expect(connector.test!(nobody, signal)).rejects.toThrow('connection refused');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
