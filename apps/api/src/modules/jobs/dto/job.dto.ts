import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JOB_STATUSES, type JobStatus, type RunError, type StepStats } from '@junction/protocol';
import type { JobResumePoint, JobTriggerInfo } from '../job.entity.ts';

export class JobDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  flowId!: string;

  @ApiProperty({ format: 'uuid', description: 'The flow version the job runs' })
  flowVersionId!: string;

  @ApiProperty({ enum: JOB_STATUSES })
  status!: JobStatus;

  @ApiProperty({ type: 'object', additionalProperties: true })
  params!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What started it: {type, payload?, ...}',
  })
  trigger!: JobTriggerInfo;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The job this one retries' })
  parentJobId!: string | null;

  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'Retry of failed records: {stepId, sourceJobId}',
  })
  resume!: JobResumePoint | null;

  @ApiProperty()
  attempt!: number;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  startedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Step id → {in, out, errors, ignored, durationMs}',
  })
  stats!: Record<string, StepStats>;

  @ApiProperty({ description: 'Records that failed (see /errors)' })
  errorCount!: number;

  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: '{message, stepId?, type?}',
  })
  error!: RunError | null;

  @ApiPropertyOptional({ description: "The last step's first output record" })
  output!: unknown;

  @ApiProperty({ description: 'Queued behind other jobs of the flow (its concurrency limit)' })
  waitingForSlot!: boolean;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Place in line (1 = next) while waiting for a slot',
  })
  position!: number | null;

  @ApiProperty({ type: String, nullable: true })
  workerId!: string | null;
}

export class JobPageDto {
  @ApiProperty({ type: [JobDto] })
  items!: JobDto[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class JobLogDto {
  @ApiProperty({ description: 'Event number within the job' })
  seq!: number;

  @ApiProperty({ type: String, format: 'date-time' })
  at!: string;

  @ApiProperty({ enum: ['debug', 'info', 'warn', 'error'] })
  level!: string;

  @ApiProperty({ type: String, nullable: true })
  stepId!: string | null;

  @ApiProperty()
  message!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  fields?: Record<string, unknown>;
}

export class JobLogPageDto {
  @ApiProperty({ type: [JobLogDto] })
  items!: JobLogDto[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class JobErrorDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  jobId!: string;

  @ApiProperty()
  stepId!: string;

  @ApiProperty()
  message!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The record as it entered the step',
  })
  record!: Record<string, unknown>;

  @ApiProperty()
  attempt!: number;

  @ApiProperty()
  retryable!: boolean;

  @ApiProperty({ enum: ['open', 'resolved', 'ignored'] })
  status!: 'open' | 'resolved' | 'ignored';

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  retriedByJobId!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;
}

export class JobErrorPageDto {
  @ApiProperty({ type: [JobErrorDto] })
  items!: JobErrorDto[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class RetryErrorsResultDto {
  @ApiProperty({ type: [JobDto], description: 'One job per failing step (and per 5,000 records)' })
  jobs!: JobDto[];
}

export class BusyFlowDto {
  @ApiProperty()
  message!: string;

  @ApiProperty({ format: 'uuid' })
  runningJobId!: string;
}
