import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery } from '../../../common/pagination.ts';

/** `?enabled=true|false` arrives as text. */
const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

export class CreateFlowQuery {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Default: the built-in "Standalone flows" integration',
  })
  @IsOptional()
  @IsUUID()
  integrationId?: string;
}

export class ListFlowsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  integrationId?: string;

  @ApiPropertyOptional({ description: 'Only flows whose name contains this (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  enabled?: boolean;
}

export class ExportFlowQuery {
  @ApiPropertyOptional({ enum: ['yaml', 'json'], default: 'yaml' })
  @IsOptional()
  @IsIn(['yaml', 'json'])
  format?: 'yaml' | 'json';
}
