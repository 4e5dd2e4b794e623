import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { ConcurrencyGate, FlowVersionStore, RunDispatcher, closeRedis, createRedis } from '@junction/jobs';
import { redisNames, type RedisNames } from '@junction/protocol';
import { APP_CONFIG } from '../../config/config.module.ts';
import type { AppConfig } from '../../config/app-config.ts';

/**
 * The jobs module's Redis side: names under the deployment's prefix, the concurrency gate and the
 * run queue (sharing one connection), and dedicated connections for the blocking stream reads and
 * for pub/sub. Connections are opened here and closed at shutdown.
 */
@Injectable()
export class JobsRedisService implements OnApplicationShutdown {
  readonly names: RedisNames;
  /** Commands and scripts; fails fast while Redis is unreachable so requests answer. */
  readonly main: Redis;
  readonly gate: ConcurrencyGate;
  readonly dispatcher: RunDispatcher;
  /** Flow versions the queued jobs refer to (payload version 2). */
  readonly versions: FlowVersionStore;
  private readonly url: string;
  private readonly extra: Redis[] = [];
  private readonly logger: PinoLogger;

  constructor(@Inject(APP_CONFIG) config: AppConfig, logger: PinoLogger) {
    this.logger = logger;
    this.logger.setContext('jobs');
    this.url = config.redis.url;
    this.names = redisNames(config.jobs.redisPrefix);
    this.main = this.connection('main', { failFast: true, autoPipelining: true });
    this.gate = new ConcurrencyGate(this.main, { prefix: this.names.gatePrefix });
    this.versions = new FlowVersionStore(this.main, { prefix: this.names.flowVersionPrefix });
    this.dispatcher = new RunDispatcher(this.main, this.names, this.gate, {
      onEnqueueError: (error, jobId) =>
        this.logger.warn(
          { jobId, error: String(error) },
          'could not enqueue a promoted job; the reconciler will',
        ),
    });
  }

  /** A connection of its own (blocking reads, subscriptions), closed at shutdown. */
  connection(role: string, options: { failFast?: boolean; autoPipelining?: boolean } = {}): Redis {
    const redis = createRedis(this.url, { name: `junction-api:jobs:${role}`, ...options });
    redis.on('error', (error: Error) =>
      this.logger.warn({ role, error: error.message }, 'redis connection error'),
    );
    if (role !== 'main') this.extra.push(redis);
    return redis;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
    await Promise.all([...this.extra, this.main].map((c) => closeRedis(c)));
  }
}
