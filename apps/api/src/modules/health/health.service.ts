import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config.ts';
import { InjectConfig } from '../../config/config.module.ts';
import { REDIS_CLIENT } from '../../redis/redis.module.ts';

export interface DependencyCheck {
  ok: boolean;
  durationMs: number;
  message?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { database: DependencyCheck; redis: DependencyCheck };
}

const CHECK_TIMEOUT_MS = 2_000;

@Injectable()
export class HealthService {
  private readonly db: DataSource;
  private readonly redis: Redis;
  private readonly redisAddress: string;
  private readonly logger: PinoLogger;
  private wasReady: boolean | undefined;

  constructor(
    @InjectDataSource() db: DataSource,
    @Inject(REDIS_CLIENT) redis: Redis,
    @InjectConfig() config: AppConfig,
    logger: PinoLogger,
  ) {
    this.db = db;
    this.redis = redis;
    const url = new URL(config.redis.url);
    this.redisAddress = `${url.hostname}:${url.port || 6379}`;
    this.logger = logger;
    this.logger.setContext(HealthService.name);
  }

  async readiness(): Promise<Readiness> {
    const [database, redis] = await Promise.all([
      check('PostgreSQL', () => this.db.query('SELECT 1')),
      check('Redis', async () => {
        // the client reconnects in the background; while it does, say so rather than ioredis' queue message
        if (this.redis.status !== 'ready')
          throw new Error(`no connection to ${this.redisAddress} (${this.redis.status})`);
        return this.redis.ping();
      }),
    ]);
    const ready = database.ok && redis.ok;
    if (ready !== this.wasReady) {
      if (ready) this.logger.info('ready');
      else this.logger.warn({ database, redis }, 'not ready');
      this.wasReady = ready;
    }
    return { ready, checks: { database, redis } };
  }
}

async function check(what: string, probe: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (e) {
    return {
      ok: false,
      durationMs: Math.round(performance.now() - started),
      message: `${what} unreachable: ${(e as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}
