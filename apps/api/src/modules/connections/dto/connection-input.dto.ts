import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, IsUUID, Length, Matches } from 'class-validator';
import { Optional } from '../../../common/optional.decorator.ts';

/** POST creates; PUT replaces (send "********" for a secret field to keep the stored value). */
export class ConnectionInputDto {
  @ApiProperty({ example: 'warehouse', description: 'Flows refer to the connection by this name' })
  @IsString()
  @Length(1, 200)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { message: 'expected letters, digits, spaces, ".", "_" or "-"' })
  name!: string;

  @ApiProperty({
    example: 'postgres',
    description: 'A connection type of an installed connector (GET /api/v1/connectors)',
  })
  @IsString()
  @Length(1, 100)
  type!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { host: '127.0.0.1', port: 5432, user: 'app', password: 's3cret', database: 'sales' },
    description: "Validated against the connector's connection schema; secret fields are encrypted at rest",
  })
  @IsObject()
  config!: Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Default: the built-in "Standalone flows" integration',
  })
  @Optional()
  @IsUUID()
  integrationId?: string;
}
