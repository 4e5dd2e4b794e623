import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OperationSummaryDto {
  @ApiProperty({ example: 'query' })
  name!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty({ enum: ['source', 'transform', 'destination', 'action'] })
  kind!: string;

  @ApiPropertyOptional()
  description?: string;

  @ApiProperty({
    description: 'JSON Schema of the step `with` input',
    type: 'object',
    additionalProperties: true,
  })
  input!: Record<string, unknown>;
}

export class ConnectorDto {
  @ApiProperty({ example: 'database' })
  id!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty()
  version!: string;

  @ApiPropertyOptional()
  description?: string;

  @ApiProperty({
    type: [String],
    description: 'Connection `type` values it accepts; empty when it needs none',
  })
  connectionTypes!: string[];

  @ApiPropertyOptional({
    description: 'JSON Schema of its connection config',
    type: 'object',
    additionalProperties: true,
  })
  connection?: Record<string, unknown>;

  @ApiProperty({ type: [String], description: 'Connection fields encrypted at rest and never shown' })
  secretFields!: string[];

  @ApiProperty({ type: [OperationSummaryDto] })
  operations!: OperationSummaryDto[];
}
