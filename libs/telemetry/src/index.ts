export { startTracing, TracingConfigError, type Tracing } from './tracing.ts';
export { contextOfCarrier, currentTraceCarrier, type TraceCarrier } from './propagation.ts';
export {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
