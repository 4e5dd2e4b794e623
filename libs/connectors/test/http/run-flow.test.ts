import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlow } from '@junction/engine';
import { catalogOf, parseFlow, type ConnectorRegistry } from '@junction/flow';
import { loadConnectorRegistry } from '../../src/registry.ts';
import { sendJson, startHttpServer, type TestHttpServer } from '../support/http-test-server.ts';

let server: TestHttpServer;
let registry: ConnectorRegistry;

beforeAll(async () => {
  registry = await loadConnectorRegistry();
  server = await startHttpServer();
  server.route('/orders', (_req, res) => sendJson(res, 200, [{ id: 1 }, { id: 2 }, { id: 3 }]));
  server.route('/echo', (req, res) =>
    sendJson(res, 200, { path: req.path, query: req.query, auth: req.headers.authorization }),
  );
});

afterAll(async () => {
  await server.close();
});

describe('http.request in a flow run by the engine', () => {
  it('needs no connection for a full URL, and runs once per record with its templates', async () => {
    const flow = parseFlow(
      {
        name: 'orders',
        params: { base: { type: 'string', required: true } },
        steps: [
          { id: 'list', use: 'http.request', with: { url: '{{ params.base }}/orders' } },
          {
            id: 'each',
            use: 'http.request',
            connection: {
              type: 'http',
              baseUrl: '{{ params.base }}',
              auth: { type: 'bearer', token: '{{ env.TOKEN }}' },
            },
            with: { url: '/echo', query: { id: '{{ $count(record.body) }}' } },
          },
        ],
      },
      { catalog: catalogOf(registry) },
    );
    const result = await runFlow(flow, { registry, params: { base: server.url }, env: { TOKEN: 't-123' } });
    expect(result.status).toBe('completed');
    expect(result.output).toMatchObject({
      status: 200,
      body: { path: '/echo', query: { id: ['3'] }, auth: 'Bearer t-123' },
    });
  });
});
