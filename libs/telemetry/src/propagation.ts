import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';

/** W3C trace context as it travels in a job payload. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The active span's trace context, to put in a job payload; undefined when nothing is traced. */
export function currentTraceCarrier(active: Context = context.active()): TraceCarrier | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** The context a job payload's trace carrier describes (the root context without one). */
export function contextOfCarrier(carrier: TraceCarrier | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { ...carrier });
}
