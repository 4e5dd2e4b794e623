import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type JobErrorStatus = 'open' | 'resolved' | 'ignored';

/** A record that failed in a step, kept with its payload so it can be retried. */
@Entity({ name: 'job_errors' })
export class JobErrorEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'step_id', type: 'text' })
  stepId!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'jsonb' })
  record!: Record<string, unknown>;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'boolean' })
  retryable!: boolean;

  @Column({ type: 'text' })
  status!: JobErrorStatus;

  @Column({ name: 'retried_by_job_id', type: 'uuid', nullable: true })
  retriedByJobId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
