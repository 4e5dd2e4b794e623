/**
 * Errors carry the retry decision. Connectors throw these (or set `retryable` on their own
 * errors) so the engine knows whether a retry policy applies.
 */
export class ConnectorError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ConnectorError';
    this.retryable = options.retryable;
  }
}

/** Wrong configuration or input: retrying cannot help. */
export class ConfigError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
    this.name = 'ConfigError';
  }
}

/** A passing failure (network, 5xx, deadlock, rate limit): retrying may help. */
export class TransientError extends ConnectorError {
  /** Set when the peer said how long to wait (HTTP Retry-After). */
  readonly retryAfterMs?: number;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { retryable: true, cause: options.cause });
    this.name = 'TransientError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  '40001', // PostgreSQL serialization_failure
  '40P01', // PostgreSQL deadlock_detected
  '57P01', // PostgreSQL admin_shutdown
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'PROTOCOL_CONNECTION_LOST',
]);

/** Whether an error is worth retrying: its own `retryable` flag, else well-known transient codes. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { retryable?: unknown; code?: unknown; cause?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  return e.cause !== undefined && e.cause !== error ? isRetryable(e.cause) : false;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
