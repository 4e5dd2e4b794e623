import { Body, Controller, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error-response.dto.ts';
import { UuidParam } from '../../common/uuid-param.ts';
import { RetryErrorsBody, UpdateJobErrorBody } from './dto/job-bodies.ts';
import { ListJobErrorsQuery, ListJobLogsQuery, ListJobsQuery } from './dto/job-queries.ts';
import {
  JobDto,
  JobErrorDto,
  JobErrorPageDto,
  JobLogPageDto,
  JobPageDto,
  RetryErrorsResultDto,
} from './dto/job.dto.ts';
import { JobsService } from './jobs.service.ts';

@ApiTags('jobs')
@ApiBearerAuth()
@ApiBadRequestResponse({
  type: ErrorResponseDto,
  description: 'Invalid input; problems lists each one with its path',
})
@ApiNotFoundResponse({ type: ErrorResponseDto })
@Controller('api/v1/jobs')
export class JobsController {
  private readonly jobs: JobsService;

  constructor(jobs: JobsService) {
    this.jobs = jobs;
  }

  @Get()
  @ApiOperation({ summary: 'List jobs, newest first, with filters' })
  @ApiOkResponse({ type: JobPageDto })
  list(@Query() query: ListJobsQuery): Promise<JobPageDto> {
    return this.jobs.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A job: status, per-step stats, error count, place in line while waiting' })
  @ApiOkResponse({ type: JobDto })
  get(@UuidParam('id') id: string): Promise<JobDto> {
    return this.jobs.get(id);
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "The job's log lines, in order, paged" })
  @ApiOkResponse({ type: JobLogPageDto })
  logs(@UuidParam('id') id: string, @Query() query: ListJobLogsQuery): Promise<JobLogPageDto> {
    return this.jobs.logs(id, query);
  }

  @Get(':id/errors')
  @ApiOperation({ summary: 'Records that failed, with their payloads' })
  @ApiOkResponse({ type: JobErrorPageDto })
  errors(@UuidParam('id') id: string, @Query() query: ListJobErrorsQuery): Promise<JobErrorPageDto> {
    return this.jobs.errors(id, query);
  }

  @Patch(':id/errors/:errorId')
  @ApiOperation({ summary: 'Mark a failed record resolved or ignored (or open again)' })
  @ApiOkResponse({ type: JobErrorDto })
  setErrorStatus(
    @UuidParam('id') id: string,
    @UuidParam('errorId') errorId: string,
    @Body() body: UpdateJobErrorBody,
  ): Promise<JobErrorDto> {
    return this.jobs.setErrorStatus(id, errorId, body.status);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel: a job not started yet is cancelled at once; a running one goes through cancelling',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The job has already finished' })
  cancel(@UuidParam('id') id: string): Promise<JobDto> {
    return this.jobs.cancel(id);
  }

  @Post(':id/retry')
  @ApiOperation({ summary: 'Run the same flow version with the same params again (a child job)' })
  @ApiCreatedResponse({ type: JobDto })
  retry(@UuidParam('id') id: string): Promise<JobDto> {
    return this.jobs.retry(id);
  }

  @Post(':id/retry-errors')
  @ApiOperation({
    summary:
      'Feed failed records (default: all open ones) back into the step they failed in, and the steps after it',
  })
  @ApiCreatedResponse({ type: RetryErrorsResultDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The job is still running' })
  retryErrors(@UuidParam('id') id: string, @Body() body: RetryErrorsBody): Promise<RetryErrorsResultDto> {
    return this.jobs.retryErrors(id, body.errorIds);
  }
}
