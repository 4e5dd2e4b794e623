import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { invalidRequest } from '../../common/error-body.ts';
import { ErrorResponseDto } from '../../common/error-response.dto.ts';
import { UuidParam } from '../../common/uuid-param.ts';
import { CreateFlowQuery, ExportFlowQuery, ListFlowsQuery } from './dto/flow-queries.ts';
import { FlowDto, FlowPageDto, FlowVersionDto, FlowVersionListDto } from './dto/flow.dto.ts';
import { FlowsService } from './flows.service.ts';

const FLOW_BODY = {
  description:
    'A flow definition (see libs/flow/schema/flow.schema.json), as JSON or as YAML with content-type application/yaml',
  schema: { type: 'object' as const, additionalProperties: true, example: { name: 'hello', steps: [] } },
};

const versionPipe = new ParseIntPipe({
  exceptionFactory: () =>
    invalidRequest('invalid request', [{ path: 'version', message: 'expected a version number' }]),
});

@ApiTags('flows')
@ApiBearerAuth()
@ApiBadRequestResponse({
  type: ErrorResponseDto,
  description: 'Invalid input; problems lists each one with its path',
})
@Controller('api/v1/flows')
export class FlowsController {
  private readonly flows: FlowsService;

  constructor(flows: FlowsService) {
    this.flows = flows;
  }

  @Post()
  @ApiOperation({ summary: 'Create a flow (version 1)' })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody(FLOW_BODY)
  @ApiCreatedResponse({ type: FlowDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'A flow with that name exists in the integration',
  })
  create(@Body() body: unknown, @Query() query: CreateFlowQuery): Promise<FlowDto> {
    return this.flows.create(body, query.integrationId);
  }

  @Get()
  @ApiOperation({ summary: 'List flows by name, with filters' })
  @ApiOkResponse({ type: FlowPageDto })
  list(@Query() query: ListFlowsQuery): Promise<FlowPageDto> {
    return this.flows.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A flow with its current definition' })
  @ApiOkResponse({ type: FlowDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@UuidParam() id: string): Promise<FlowDto> {
    return this.flows.get(id);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Save a new version of the flow' })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody(FLOW_BODY)
  @ApiOkResponse({ type: FlowDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  update(@UuidParam() id: string, @Body() body: unknown): Promise<FlowDto> {
    return this.flows.update(id, body);
  }

  @Get(':id/versions')
  @ApiOperation({ summary: 'Every saved version, newest first' })
  @ApiOkResponse({ type: FlowVersionListDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  versions(@UuidParam() id: string): Promise<FlowVersionListDto> {
    return this.flows.listVersions(id);
  }

  @Get(':id/versions/:version')
  @ApiOperation({ summary: 'One saved version' })
  @ApiOkResponse({ type: FlowVersionDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  version(@UuidParam() id: string, @Param('version', versionPipe) version: number): Promise<FlowVersionDto> {
    return this.flows.getVersion(id, version);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: FlowDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  enable(@UuidParam() id: string): Promise<FlowDto> {
    return this.flows.setEnabled(id, true);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOkResponse({ type: FlowDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  disable(@UuidParam() id: string): Promise<FlowDto> {
    return this.flows.setEnabled(id, false);
  }

  @Get(':id/export')
  @ApiOperation({ summary: 'The current version as a file: YAML (default) or JSON' })
  @ApiProduces('application/yaml', 'application/json')
  @ApiOkResponse({ description: 'The flow file' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async export(
    @UuidParam() id: string,
    @Query() query: ExportFlowQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const file = await this.flows.export(id, query.format ?? 'yaml');
    void reply
      .type(file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`);
    return file.body;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a flow, its versions and its finished jobs',
    description: 'Refused (409) while a job of the flow is queued, running or cancelling.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The flow has jobs queued or running' })
  remove(@UuidParam() id: string): Promise<void> {
    return this.flows.remove(id);
  }
}
