import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { QueryTokenAllowed } from '../../common/public.decorator.ts';
import { UuidParam } from '../../common/uuid-param.ts';
import { JobEventStreamService } from './job-event-stream.service.ts';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('api/v1/jobs')
export class JobEventsController {
  private readonly streams: JobEventStreamService;

  constructor(streams: JobEventStreamService) {
    this.streams = streams;
  }

  @Get(':id/events')
  @QueryTokenAllowed()
  @ApiOperation({
    summary: 'Live run events (Server-Sent Events), resumable',
    description:
      'Each event has `id:` (its number within the job), `event:` (job.started, step.started, step.log, step.stats, ' +
      'step.finished, record.error, job.finished) and `data:` (the event as JSON). After a reconnect, send the last ' +
      'id received as Last-Event-ID (or ?lastEventId=) and the stream continues after it. It ends after job.finished; ' +
      'a finished job whose events were all seen answers 204. Browsers (EventSource cannot send headers) may pass ' +
      'the bearer token as ?access_token=.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiQuery({ name: 'lastEventId', required: false })
  @ApiQuery({ name: 'access_token', required: false, description: 'The bearer token, for EventSource' })
  async events(
    @UuidParam('id') id: string,
    @Headers('last-event-id') lastEventHeader: string | undefined,
    @Query('lastEventId') lastEventQuery: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.streams.stream(id, lastEventHeader ?? lastEventQuery, reply);
  }
}
