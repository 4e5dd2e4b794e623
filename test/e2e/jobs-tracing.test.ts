import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobsEnv, type JobsEnv } from '../support/jobs-env.ts';

// No OpenTelemetry collector runs on this machine: a stub one (an HTTP server taking OTLP/JSON
// on /v1/traces, as a collector does) receives what the API and the workers export.

interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{
      spans: Array<
        Omit<Span, 'service' | 'attributes'> & { attributes?: Array<{ key: string; value: OtlpValue }> }
      >;
    }>;
  }>;
}

let env: JobsEnv;
let collector: Server;
const spans: Span[] = [];

const value = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue));

beforeAll(async () => {
  collector = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const rs of (JSON.parse(text) as OtlpBody).resourceSpans) {
          const service = String(
            value(rs.resource.attributes.find((a) => a.key === 'service.name')?.value ?? {}),
          );
          for (const s of rs.scopeSpans.flatMap((ss) => ss.spans))
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, value(a.value)])),
            });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  const address = collector.address();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  env = await startJobsEnv({ workers: 2, apiEnv: otel, workerEnv: otel });
}, 180_000);

afterAll(async () => {
  await env?.stop();
  collector?.close();
});

/** The spans of a job once its worker span and its step spans have arrived. */
async function spansOf(jobId: string, steps: number): Promise<{ create: Span; run: Span; steps: Span[] }> {
  const end = Date.now() + 15_000;
  for (;;) {
    const create = spans.find(
      (s) => s.name === 'junction.job.create' && s.attributes['junction.job.id'] === jobId,
    );
    const run = spans.find((s) => s.name === 'junction.job.run' && s.attributes['junction.job.id'] === jobId);
    const children = run ? spans.filter((s) => s.parentSpanId === run.spanId) : [];
    if (create && run && children.length >= steps) return { create, run, steps: children };
    if (Date.now() > end)
      throw new Error(`spans of job ${jobId} missing: ${JSON.stringify(spans.map((s) => s.name))}`);
    await sleep(100);
  }
}

describe('traces across api → queue → worker (stub OTLP collector)', () => {
  it('puts a job created over the API, its run on a worker and its steps in one trace', async () => {
    const flowId = await env.createFlow({
      name: 'traced',
      steps: [
        { id: 'shape', use: 'transform.map', with: { fields: { a: '{{ 1 }}' } } },
        { id: 'again', use: 'transform.map', with: { keep: true } },
      ],
    });
    const job = await env.run(flowId);
    expect((await env.waitFor(job.id)).status).toBe('completed');

    const { create, run, steps } = await spansOf(job.id, 2);
    expect(create).toMatchObject({ service: 'junction-api', attributes: { 'junction.flow.id': flowId } });
    expect(run).toMatchObject({
      service: 'junction-worker',
      traceId: create.traceId,
      parentSpanId: create.spanId,
    });
    expect(run.attributes['junction.job.outcome']).toBe('completed');
    expect(steps.map((s) => s.name).sort()).toEqual(['junction.step again', 'junction.step shape']);
    expect(
      steps.every((s) => s.traceId === create.traceId && s.attributes['junction.records.in'] === 1),
    ).toBe(true);
  });

  it('keeps the trace of a job that waited for a slot and was started by another job’s end', async () => {
    const flowId = await env.createFlow({
      name: 'traced-one-at-a-time',
      concurrency: { max: 1 },
      steps: [
        {
          id: 'wait',
          use: 'script.run',
          with: { code: 'const t = Date.now(); while (Date.now() - t < 300); return record;' },
        },
      ],
    });
    const first = await env.run(flowId);
    const second = await env.run(flowId);
    expect(second.waitingForSlot).toBe(true);
    expect((await env.waitFor(second.id)).status).toBe('completed');

    const a = await spansOf(first.id, 1);
    const b = await spansOf(second.id, 1);
    // the second run was enqueued by the worker that finished the first, yet joins its own trace
    expect(b.run).toMatchObject({ traceId: b.create.traceId, parentSpanId: b.create.spanId });
    expect(b.create.traceId).not.toBe(a.create.traceId);
  });
});
