import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG } from '../config/config.module.ts';
import type { AppConfig } from '../config/app-config.ts';

/** Injection token of the API's shared ioredis client (plain commands; BullMQ opens its own). */
export const REDIS_CLIENT = 'junction:redis';

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(@Inject(REDIS_CLIENT) redis: Redis) {
    this.redis = redis;
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG, PinoLogger],
      useFactory: (config: AppConfig, logger: PinoLogger): Redis => {
        const redis = new Redis(config.redis.url, {
          // fail commands at once while disconnected, so /ready answers instead of hanging
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000,
          lazyConnect: false,
        });
        // ioredis retries forever; say so once per outage rather than on every attempt
        let down = false;
        redis.on('error', (error: Error) => {
          if (down) return;
          down = true;
          logger.warn({ error: error.message }, 'Redis unreachable; retrying');
        });
        redis.on('ready', () => {
          if (down) logger.info('Redis reachable again');
          down = false;
        });
        return redis;
      },
    },
    RedisCloser,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
