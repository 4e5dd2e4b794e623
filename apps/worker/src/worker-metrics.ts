import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's own metrics, served on /metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'junction_worker_jobs_total',
    help: 'Jobs this worker finished, by outcome (completed, failed, cancelled, handed_back, skipped)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'junction_worker_jobs_running',
    help: 'Jobs running on this worker',
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'junction_worker_job_duration_seconds',
    help: 'Run time of jobs on this worker, by outcome',
    labelNames: ['status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'junction_worker_events_total',
    help: 'Run events sent to the event stream',
    registers: [this.registry],
  });
  readonly droppedLogs = new Counter({
    name: 'junction_worker_log_events_dropped_total',
    help: 'step.log events not sent because a job reached its log limit',
    registers: [this.registry],
  });
  readonly leaseLost = new Counter({
    name: 'junction_worker_leases_lost_total',
    help: 'Jobs aborted because their concurrency lease could not be renewed',
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'junction_worker_ready',
    help: '1 while the worker is consuming jobs (readiness)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
