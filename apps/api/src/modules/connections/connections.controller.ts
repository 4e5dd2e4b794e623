import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
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
import { ConnectionsService } from './connections.service.ts';
import { ConnectionInputDto } from './dto/connection-input.dto.ts';
import {
  ConnectionDto,
  ConnectionPageDto,
  ConnectionTestResultDto,
  ListConnectionsQuery,
} from './dto/connection.dto.ts';

@ApiTags('connections')
@ApiBearerAuth()
@ApiBadRequestResponse({
  type: ErrorResponseDto,
  description: 'Invalid input; problems lists each one with its path',
})
@Controller('api/v1/connections')
export class ConnectionsController {
  private readonly connections: ConnectionsService;

  constructor(connections: ConnectionsService) {
    this.connections = connections;
  }

  @Post()
  @ApiOperation({ summary: 'Create a connection; secret fields are encrypted and never shown again' })
  @ApiCreatedResponse({ type: ConnectionDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The name is taken in the integration' })
  create(@Body() body: ConnectionInputDto): Promise<ConnectionDto> {
    return this.connections.create(body);
  }

  @Get()
  @ApiOkResponse({ type: ConnectionPageDto })
  list(@Query() query: ListConnectionsQuery): Promise<ConnectionPageDto> {
    return this.connections.list(query);
  }

  @Get(':id')
  @ApiOkResponse({ type: ConnectionDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@UuidParam() id: string): Promise<ConnectionDto> {
    return this.connections.get(id);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Replace a connection; send "********" for a secret field to keep its stored value',
  })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto })
  update(@UuidParam() id: string, @Body() body: ConnectionInputDto): Promise<ConnectionDto> {
    return this.connections.update(id, body);
  }

  @Post(':id/test')
  @HttpCode(200)
  @ApiOperation({ summary: 'Open and close a real connection; failure is ok: false with the reason' })
  @ApiOkResponse({ type: ConnectionTestResultDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  test(@UuidParam() id: string): Promise<ConnectionTestResultDto> {
    return this.connections.test(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  remove(@UuidParam() id: string): Promise<void> {
    return this.connections.remove(id);
  }
}
