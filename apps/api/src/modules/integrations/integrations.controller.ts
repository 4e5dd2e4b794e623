import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error-response.dto.ts';
import { UuidParam } from '../../common/uuid-param.ts';
import { CreateIntegrationDto } from './dto/create-integration.dto.ts';
import { IntegrationDto, IntegrationPageDto, ListIntegrationsQuery } from './dto/integration.dto.ts';
import { UpdateIntegrationDto } from './dto/update-integration.dto.ts';
import { IntegrationsService } from './integrations.service.ts';

@ApiTags('integrations')
@ApiBearerAuth()
@ApiBadRequestResponse({ type: ErrorResponseDto })
@Controller('api/v1/integrations')
export class IntegrationsController {
  private readonly integrations: IntegrationsService;

  constructor(integrations: IntegrationsService) {
    this.integrations = integrations;
  }

  @Post()
  @ApiOperation({ summary: 'Create an integration' })
  @ApiCreatedResponse({ type: IntegrationDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The name is taken' })
  create(@Body() body: CreateIntegrationDto): Promise<IntegrationDto> {
    return this.integrations.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List integrations by name' })
  @ApiOkResponse({ type: IntegrationPageDto })
  list(@Query() query: ListIntegrationsQuery): Promise<IntegrationPageDto> {
    return this.integrations.list(query);
  }

  @Get(':id')
  @ApiOkResponse({ type: IntegrationDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@UuidParam() id: string): Promise<IntegrationDto> {
    return this.integrations.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the fields sent' })
  @ApiOkResponse({ type: IntegrationDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  update(@UuidParam() id: string, @Body() body: UpdateIntegrationDto): Promise<IntegrationDto> {
    return this.integrations.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an integration that has no flows or connections left' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Built in, or still has flows or connections' })
  remove(@UuidParam() id: string): Promise<void> {
    return this.integrations.remove(id);
  }
}
