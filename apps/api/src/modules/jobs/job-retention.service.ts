import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { RedisLock } from '@junction/jobs';
import type { AppConfig } from '../../config/app-config.ts';
import { APP_CONFIG } from '../../config/config.module.ts';
import { JobsMetricsService } from './jobs-metrics.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository } from './jobs.repository.ts';

const DAY_MS = 86_400_000;
/** Jobs per DELETE: short statements, so purging never holds locks for long. */
const BATCH = 5_000;
/** A purge pass stops after this long and goes on at the next one. */
const PASS_BUDGET_MS = 60_000;

/**
 * Deletes finished jobs older than JOBS_RETENTION_DAYS (by when they finished), with their logs,
 * stored events and failed records, in batches: at thousands of runs a second the job tables
 * would otherwise grow without end. One API replica at a time purges (a Redis lock).
 */
@Injectable()
export class JobRetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly config: AppConfig;
  private readonly repo: JobsRepository;
  private readonly metrics: JobsMetricsService;
  private readonly logger: PinoLogger;
  private readonly lock: RedisLock;
  private readonly redis: JobsRedisService;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    redis: JobsRedisService,
    repo: JobsRepository,
    metrics: JobsMetricsService,
    logger: PinoLogger,
  ) {
    this.config = config;
    this.redis = redis;
    this.repo = repo;
    this.metrics = metrics;
    this.logger = logger;
    this.logger.setContext('job-retention');
    this.lock = new RedisLock(redis.main, `${redis.names.reconcilerLock}:retention`);
  }

  onApplicationBootstrap(): void {
    const { background, retentionDays, retentionIntervalMs } = this.config.jobs;
    if (!background || retentionDays === 0) return;
    this.timer = setInterval(() => {
      this.current ??= this.purge()
        .catch((error: unknown) => this.logger.error({ error: String(error) }, 'purging old jobs failed'))
        .finally(() => (this.current = undefined));
    }, retentionIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
  }

  /** One pass: batches of old jobs until none is left or the pass's time is up. */
  async purge(): Promise<void> {
    await this.lock.runExclusive(PASS_BUDGET_MS * 2, () => this.purgeOld());
  }

  private async purgeOld(): Promise<void> {
    const before = new Date(Date.now() - this.config.jobs.retentionDays * DAY_MS);
    const started = Date.now();
    let total = 0;
    for (;;) {
      const deleted = await this.repo.purgeFinished(before, BATCH);
      total += deleted;
      this.metrics.purged.inc(deleted);
      if (deleted < BATCH || Date.now() - started > PASS_BUDGET_MS) break;
    }
    if (total > 0) this.logger.info({ jobs: total, finishedBefore: before.toISOString() }, 'purged old jobs');
    // the versions of deleted flows leave Redis too (no job can need them: a flow with active
    // jobs cannot be deleted)
    const versions = await this.redis.versions.sweep((ids) => this.repo.existingVersions(ids));
    if (versions > 0) this.logger.info({ versions }, 'removed the stored versions of deleted flows');
  }
}
