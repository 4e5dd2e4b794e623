import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.ts';
import { JobsRedisService } from './jobs-redis.service.ts';
import { ACTIVE_STATUSES, JobsRepository } from './jobs.repository.ts';

export type StuckKind =
  'requeued' | 'readmitted' | 'worker_lost' | 'slot_released' | 'unreported' | 'cancelled_on_queue';

/** Job metrics on the API's registry: what runs, what waits, how long it takes, what went wrong. */
@Injectable()
export class JobsMetricsService {
  readonly stuck: Counter<'kind'>;
  readonly finished: Counter<'status'>;
  readonly jobDuration: Histogram<'status'>;
  readonly stepDuration: Histogram<'status'>;
  readonly records: Counter;
  readonly recordErrors: Counter;
  readonly eventsIngested: Counter;
  readonly purged: Counter;

  constructor(metrics: MetricsService, repo: JobsRepository, redis: JobsRedisService) {
    const registers = [metrics.registry];
    this.purged = new Counter({
      name: 'junction_jobs_purged_total',
      help: 'Finished jobs deleted (with their logs, events and failed records) after JOBS_RETENTION_DAYS',
      registers,
    });
    this.stuck = new Counter({
      name: 'junction_jobs_stuck',
      help: 'Inconsistencies the reconciler repaired, by kind (requeued, readmitted, worker_lost, slot_released, unreported)',
      labelNames: ['kind'],
      registers,
    });
    this.finished = new Counter({
      name: 'junction_jobs_finished_total',
      help: 'Jobs that reached a final status, by status',
      labelNames: ['status'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'junction_job_duration_seconds',
      help: 'Run time of finished jobs, by status',
      labelNames: ['status'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'junction_step_duration_seconds',
      help: 'Run time of finished steps, by status',
      labelNames: ['status'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
      registers,
    });
    this.records = new Counter({
      name: 'junction_records_processed_total',
      help: 'Records that entered a step (counted at the end of each step)',
      registers,
    });
    this.recordErrors = new Counter({
      name: 'junction_record_errors_total',
      help: 'Records that failed in a step',
      registers,
    });
    this.eventsIngested = new Counter({
      name: 'junction_job_events_ingested_total',
      help: 'Run events read from the event stream and stored',
      registers,
    });
    new Gauge({
      name: 'junction_jobs',
      help: 'Jobs not finished yet, by status (queued, running, cancelling)',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await repo.activeCounts();
        for (const status of ACTIVE_STATUSES) this.set({ status }, counts.get(status) ?? 0);
      },
    });
    new Gauge({
      name: 'junction_queue_jobs',
      help: 'Run queue depth by state (waiting_for_slot: held back by a flow concurrency limit)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await redis.dispatcher.queue.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'prioritized',
          'completed',
          'failed',
        );
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        let waitingForSlot = 0;
        for (const flowId of await redis.gate.flows())
          waitingForSlot += (await redis.gate.counts(flowId)).waiting;
        this.set({ state: 'waiting_for_slot' }, waitingForSlot);
      },
    });
  }
}
