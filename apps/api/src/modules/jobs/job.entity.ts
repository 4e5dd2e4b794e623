import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JobStatus, RunError, StepStats } from '@junction/protocol';

/** Where a retry-errors job resumes: the step the records failed in, and the job they failed in. */
export interface JobResumePoint {
  stepId: string;
  sourceJobId: string;
}

export interface JobTriggerInfo {
  type: string;
  payload?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/**
 * A run of a flow version. PostgreSQL is the truth about it; its status moves only through the
 * transitions of libs/protocol (conditional UPDATEs), written mostly by the event consumer.
 */
@Entity({ name: 'jobs' })
export class JobEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Creation order: list order and cursor. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column({ name: 'flow_id', type: 'uuid' })
  flowId!: string;

  @Column({ name: 'flow_version_id', type: 'uuid' })
  flowVersionId!: string;

  @Column({ type: 'text' })
  status!: JobStatus;

  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ type: 'jsonb' })
  trigger!: JobTriggerInfo;

  @Column({ name: 'parent_job_id', type: 'uuid', nullable: true })
  parentJobId!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  resume!: JobResumePoint | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** Step id → stats, updated while the job runs. */
  @Column({ type: 'jsonb' })
  stats!: Record<string, StepStats>;

  @Column({ name: 'error_count', type: 'integer' })
  errorCount!: number;

  @Column({ type: 'jsonb', nullable: true })
  error!: RunError | null;

  @Column({ type: 'jsonb', nullable: true })
  output!: unknown;

  @Column({ name: 'waiting_for_slot', type: 'boolean' })
  waitingForSlot!: boolean;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil!: Date | null;
}
