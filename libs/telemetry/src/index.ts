export { startTracing, TracingConfigError, type Tracing } from './tracing.ts';
export { contextOfCarrier, currentTraceCarrier, type TraceCarrier } from './propagation.ts';
export { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
