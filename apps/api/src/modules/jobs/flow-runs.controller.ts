import { Body, Controller, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error-response.dto.ts';
import { UuidParam } from '../../common/uuid-param.ts';
import { RunFlowBody } from './dto/job-bodies.ts';
import { BusyFlowDto, JobDto } from './dto/job.dto.ts';
import { JobDispatchService } from './job-dispatch.service.ts';
import { JobsService, toJobDto } from './jobs.service.ts';

@ApiTags('flows')
@ApiBearerAuth()
@Controller('api/v1/flows')
export class FlowRunsController {
  private readonly dispatch: JobDispatchService;
  private readonly jobs: JobsService;

  constructor(dispatch: JobDispatchService, jobs: JobsService) {
    this.dispatch = dispatch;
    this.jobs = jobs;
  }

  @Post(':id/run')
  @ApiOperation({ summary: "Run the flow's current version now; the job waits its turn if the flow is busy" })
  @ApiCreatedResponse({ type: JobDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Bad params: problems names each one' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: BusyFlowDto, description: 'The flow is busy and its onBusy is "skip"' })
  async run(@UuidParam('id') id: string, @Body() body: RunFlowBody): Promise<JobDto> {
    const { job, admission } = await this.dispatch.run(id, body.params ?? {}, { type: 'manual' });
    // the admission just said where the job stands: no need to ask the gate again
    if (admission === undefined) return (await this.jobs.withGate([job]))[0];
    const dto = toJobDto(job);
    if (admission.status === 'waiting') return { ...dto, waitingForSlot: true, position: admission.position };
    return { ...dto, waitingForSlot: false, position: null };
  }
}
