import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ConnectorManifest } from '@junction/flow';
import { z } from 'zod';
import { secretPaths } from '../connections/secret-fields.ts';
import { ConnectorCatalogService, connectionTypesOf } from './connector-catalog.service.ts';
import { ConnectorDto } from './dto/connector.dto.ts';

@ApiTags('connectors')
@ApiBearerAuth()
@Controller('api/v1/connectors')
export class ConnectorsController {
  private readonly connectors: ConnectorCatalogService;

  constructor(connectors: ConnectorCatalogService) {
    this.connectors = connectors;
  }

  @Get()
  @ApiOperation({ summary: 'The connectors this server has, with their connection and input schemas' })
  @ApiOkResponse({ type: [ConnectorDto] })
  list(): ConnectorDto[] {
    return this.connectors.registry.list().map(describeConnector);
  }
}

function describeConnector(m: ConnectorManifest): ConnectorDto {
  return {
    id: m.id,
    title: m.title,
    version: m.version,
    description: m.description,
    connectionTypes: m.connection ? [...connectionTypesOf(m)] : [],
    connection: m.connection ? jsonSchema(m.connection) : undefined,
    secretFields: m.connection ? secretPaths(m.connection) : [],
    operations: Object.values(m.operations).map((op) => ({
      name: op.name,
      title: op.title,
      kind: op.kind,
      description: op.description,
      input: jsonSchema(op.input),
    })),
  };
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref' });
}
