import { ApiProperty } from '@nestjs/swagger';

export class FlowSummaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  integrationId!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ description: 'Disabled flows are not started by their triggers' })
  enabled!: boolean;

  @ApiProperty({ description: 'The current version number (1, 2, ...)' })
  version!: number;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;
}

export class FlowDto extends FlowSummaryDto {
  @ApiProperty({ format: 'uuid', description: 'Id of the current version' })
  versionId!: string;

  @ApiProperty({
    description: 'The current definition, as written',
    type: 'object',
    additionalProperties: true,
  })
  definition!: Record<string, unknown>;
}

export class FlowPageDto {
  @ApiProperty({ type: [FlowSummaryDto] })
  items!: FlowSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  nextCursor!: string | null;
}

export class FlowVersionSummaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  version!: number;

  @ApiProperty({ description: 'The flow name in this version' })
  name!: string;

  @ApiProperty({ enum: ['json', 'yaml'], description: 'How it was submitted' })
  sourceFormat!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;
}

export class FlowVersionDto extends FlowVersionSummaryDto {
  @ApiProperty({ format: 'uuid' })
  flowId!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  definition!: Record<string, unknown>;
}

export class FlowVersionListDto {
  @ApiProperty({ type: [FlowVersionSummaryDto], description: 'Newest first' })
  items!: FlowVersionSummaryDto[];
}
