import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, statsRow } from '../../apps/cli/test/support/cli-process.ts';
import { sendJson, startLocalHttpServer, type LocalHttpServer } from './local-http-server.ts';

describe('example http-to-xml', () => {
  let api: LocalHttpServer;

  beforeAll(async () => {
    api = await startLocalHttpServer((req, res) => {
      if (req.method === 'GET' && req.url === '/orders') {
        sendJson(res, 200, {
          items: [
            { id: 1, customer: { name: 'Ada' }, total: 12.5, internalNote: 'not for export' },
            { id: 2, customer: { name: 'Alan & Co' }, total: 3, internalNote: 'not for export' },
          ],
        });
      } else if (req.method === 'POST' && req.url === '/inbox') {
        sendJson(res, 202, { accepted: true });
      } else sendJson(res, 404, { error: 'not found' });
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('posts the orders of the JSON API as one XML document, with only the mapped fields', async () => {
    const result = await runCli(['run', 'examples/http-to-xml/flow.yaml', '--param', `apiUrl=${api.url}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const posted = api.received.filter((r) => r.method === 'POST');
    expect(posted).toHaveLength(1);
    expect(posted[0].url).toBe('/inbox');
    expect(posted[0].headers['content-type']).toBe('application/xml');
    expect(posted[0].body).toBe(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
        '<orders>' +
        '<order><id>1</id><customer>Ada</customer><total>12.5</total></order>' +
        '<order><id>2</id><customer>Alan &amp; Co</customer><total>3</total></order>' +
        '</orders>',
    );
    expect(statsRow(result.stdout, 'post')?.slice(0, 4)).toEqual(['post', 'completed', '1', '1']);
  });
});
