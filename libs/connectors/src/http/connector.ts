import { ConfigError, defineConnector } from '@junction/flow';
import { HttpConnectionSchema, type HttpConnection } from './connection.schema.ts';
import { RequestInput, performRequest, request } from './request.operation.ts';

export const connector = defineConnector<HttpConnection | undefined>({
  id: 'http',
  title: 'HTTP',
  version: '1.0.0',
  description: 'Calls HTTP APIs: any method, JSON/form/text/XML bodies, basic/bearer/API-key auth, retries.',
  connection: HttpConnectionSchema,
  connectionOptional: true,
  connectionTypes: ['http'],
  operations: { request },
  test: testHttp,
});

/**
 * GETs the base URL with the connection's headers and auth: any answer but 401/403 shows the
 * server is there and takes the credentials (an API root often answers 404, which is fine).
 */
async function testHttp(connection: HttpConnection | undefined, signal: AbortSignal): Promise<void> {
  if (connection?.baseUrl === undefined)
    throw new ConfigError('baseUrl: needed to test the connection (there is nothing else to call)');
  const input = RequestInput.parse({
    url: connection.baseUrl,
    timeoutMs: 10_000,
    retries: 0,
    failOnStatus: false,
  });
  const noop = () => undefined;
  const log = { debug: noop, info: noop, warn: noop, error: noop };
  const response = await performRequest({ signal, log }, connection, input);
  if (response.status === 401 || response.status === 403)
    throw new ConfigError(`HTTP ${response.status} from ${connection.baseUrl}: the credentials were refused`);
}
