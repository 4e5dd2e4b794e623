import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.ts';
import { JobEventStreamService } from './job-event-stream.service.ts';
import { JobEventsController } from './job-events.controller.ts';
import { LiveEventsService } from './live-events.service.ts';

/** Live job events for the console: Server-Sent Events, resumable from the stored events. */
@Module({
  imports: [JobsModule],
  controllers: [JobEventsController],
  providers: [LiveEventsService, JobEventStreamService],
})
export class EventsModule {}
