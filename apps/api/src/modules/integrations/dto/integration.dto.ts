import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../../common/pagination.ts';

export class IntegrationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  settings!: Record<string, unknown>;

  @ApiProperty({ description: 'True for the built-in "Standalone flows" integration' })
  builtIn!: boolean;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;
}

export class IntegrationPageDto {
  @ApiProperty({ type: [IntegrationDto] })
  items!: IntegrationDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}

export class ListIntegrationsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only integrations whose name contains this (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}
