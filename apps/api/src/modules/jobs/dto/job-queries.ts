import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { JOB_STATUSES, type JobStatus } from '@junction/protocol';
import { PageQuery } from '../../../common/pagination.ts';

/** `?status=queued,running` (or the parameter repeated) → a list. */
const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : value;

export class ListJobsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  flowId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only the retries of this job (its child jobs)' })
  @IsOptional()
  @IsUUID()
  parentJobId?: string;

  @ApiPropertyOptional({
    description: `Only jobs in these statuses, comma-separated: ${JOB_STATUSES.join(', ')}`,
    example: 'queued,running',
  })
  @IsOptional()
  @Transform(toList)
  @IsIn(JOB_STATUSES, { each: true })
  status?: JobStatus[];

  @ApiPropertyOptional({ format: 'date-time', description: 'Created at or after this time' })
  @IsOptional()
  @IsISO8601()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Created before this time' })
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class ListJobLogsQuery extends PageQuery {}

export class ListJobErrorsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['open', 'resolved', 'ignored'] })
  @IsOptional()
  @IsIn(['open', 'resolved', 'ignored'])
  status?: 'open' | 'resolved' | 'ignored';
}
