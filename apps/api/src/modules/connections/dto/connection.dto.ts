import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery } from '../../../common/pagination.ts';

export class ConnectionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  integrationId!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty()
  type!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Secret fields are shown as "********"',
  })
  config!: Record<string, unknown>;

  @ApiProperty({ type: [String], description: 'Secret fields that hold a stored value' })
  secretFields!: string[];

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;
}

export class ConnectionPageDto {
  @ApiProperty({ type: [ConnectionDto] })
  items!: ConnectionDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}

export class ListConnectionsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  integrationId?: string;

  @ApiPropertyOptional({ description: 'Only connections whose name contains this (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  type?: string;
}

export class ConnectionTestResultDto {
  @ApiProperty()
  ok!: boolean;

  @ApiProperty({ example: 'connected' })
  message!: string;

  @ApiProperty()
  durationMs!: number;
}
