import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IntegrationsModule } from '../integrations/integrations.module.ts';
import { FlowVersionEntity } from './flow-version.entity.ts';
import { FlowEntity } from './flow.entity.ts';
import { FlowsController } from './flows.controller.ts';
import { FlowsService } from './flows.service.ts';

@Module({
  imports: [TypeOrmModule.forFeature([FlowEntity, FlowVersionEntity]), IntegrationsModule],
  controllers: [FlowsController],
  providers: [FlowsService],
  exports: [FlowsService],
})
export class FlowsModule {}
