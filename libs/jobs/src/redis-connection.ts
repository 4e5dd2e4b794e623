import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** Shown by CLIENT LIST, to tell the API's and workers' connections apart. */
  name?: string;
  /**
   * Fail commands while Redis is unreachable instead of queueing them until it comes back:
   * right for request paths (answer 503), wrong for workers and blocking readers (BullMQ needs
   * them to wait).
   */
  failFast?: boolean;
  /**
   * Send the commands issued in the same tick in one write. Socket writes are the dearest part of
   * a command here; right for connections shared by many concurrent callers, not for blocking or
   * subscriber connections.
   */
  autoPipelining?: boolean;
}

/**
 * A Redis connection with TCP keep-alive, so a half-open connection (peer gone without a FIN) is
 * noticed by the kernel instead of hanging a blocking read forever, and reconnects with a capped
 * back-off.
 */
export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  return new Redis(url, {
    connectionName: options.name,
    keepAlive: 10_000,
    noDelay: true,
    maxRetriesPerRequest: options.failFast ? 2 : null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    enableAutoPipelining: options.autoPipelining ?? false,
  });
}

/**
 * SUBSCRIBE, once the connection is ready. A subscribe issued while ioredis is still connecting
 * can reach Redis in the middle of the connection handshake; Redis, then in subscriber mode,
 * refuses the handshake's INFO ("Can't execute 'info'…", redis/ioredis#2037) and the
 * subscription is lost: a worker that never hears its cancels (seen in CI).
 */
export async function subscribeWhenReady(redis: Redis, channel: string): Promise<void> {
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        redis.off('end', onEnd);
        resolve();
      };
      const onEnd = (): void => {
        redis.off('ready', onReady);
        reject(new Error('the Redis connection closed before it was ready'));
      };
      redis.once('ready', onReady);
      redis.once('end', onEnd);
    });
  }
  await redis.subscribe(channel);
}

/** Closes a connection politely, falling back to a hard disconnect when Redis does not answer. */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.quit().then(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // already closing or closed
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}
