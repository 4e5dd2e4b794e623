import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionsModule } from '../connections/connections.module.ts';
import { FlowsModule } from '../flows/flows.module.ts';
import { EventIngestService } from './event-ingest.service.ts';
import { FlowRunsController } from './flow-runs.controller.ts';
import { JobDispatchService } from './job-dispatch.service.ts';
import { JobErrorEntity } from './job-error.entity.ts';
import { JobPayloadsService } from './job-payloads.service.ts';
import { JobReconcilerService } from './job-reconciler.service.ts';
import { JobRetentionService } from './job-retention.service.ts';
import { JobEntity } from './job.entity.ts';
import { JobsController } from './jobs.controller.ts';
import { JobsMetricsService } from './jobs-metrics.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { JobsRepository } from './jobs.repository.ts';
import { JobsService } from './jobs.service.ts';

/**
 * Jobs: creating runs (through each flow's concurrency gate), reading and acting on them, storing
 * the workers' events, and reconciling PostgreSQL with Redis.
 */
@Module({
  imports: [TypeOrmModule.forFeature([JobEntity, JobErrorEntity]), FlowsModule, ConnectionsModule],
  controllers: [JobsController, FlowRunsController],
  providers: [
    JobsRedisService,
    JobsRepository,
    JobPayloadsService,
    JobDispatchService,
    JobsService,
    JobsMetricsService,
    EventIngestService,
    JobReconcilerService,
    JobRetentionService,
  ],
  exports: [JobsRedisService, JobsRepository, JobsService],
})
export class JobsModule {}
