import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TracingConfigError,
  contextOfCarrier,
  currentTraceCarrier,
  startTracing,
  trace,
} from '../src/index.ts';

// No OpenTelemetry collector runs on this machine: a stub one (an HTTP server taking OTLP/JSON
// on /v1/traces, as a collector does) receives what the real exporter sends.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

let server: Server;
let endpoint: string;
const received: Array<{ path: string; body: OtlpBody }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(text) as OtlpBody });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

describe('tracing (stub OTLP collector)', () => {
  it('stays off without an endpoint, and carries no context then', async () => {
    const tracing = startTracing('junction-test', {});
    expect(tracing.enabled).toBe(false);
    const carrier = trace.getTracer('t').startActiveSpan('nothing', (span) => {
      span.end();
      return currentTraceCarrier();
    });
    expect(carrier).toBeUndefined();
    await tracing.shutdown();
  });

  it('refuses an endpoint that is not an http(s) URL, naming the variable', () => {
    expect(() => startTracing('t', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      TracingConfigError,
    );
    expect(() => startTracing('t', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' })).toThrow(
      /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http\(s\) URL/,
    );
  });

  it('exports spans over OTLP/HTTP and continues a trace from a job payload carrier', async () => {
    const tracing = startTracing('junction-test', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(tracing.enabled).toBe(true);
    const tracer = trace.getTracer('t');
    const carrier = tracer.startActiveSpan('junction.job.create', (span) => {
      const c = currentTraceCarrier();
      span.end();
      return c;
    });
    expect(carrier?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // what a worker does with the payload's carrier
    tracer.startSpan('junction.job.run', {}, contextOfCarrier(carrier)).end();
    await tracing.shutdown();

    const spans = received
      .filter((r) => r.path === '/v1/traces')
      .flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
    const create = spans.find((s) => s.name === 'junction.job.create');
    const run = spans.find((s) => s.name === 'junction.job.run');
    expect(create).toBeDefined();
    expect(run).toMatchObject({ traceId: create?.traceId, parentSpanId: create?.spanId });
    const service = received[0].body.resourceSpans[0].resource.attributes.find(
      (a) => a.key === 'service.name',
    );
    expect(service?.value.stringValue).toBe('junction-test');
  });
});
