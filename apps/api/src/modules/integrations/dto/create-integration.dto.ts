import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, Length, MaxLength } from 'class-validator';
import { Optional } from '../../../common/optional.decorator.ts';

export class CreateIntegrationDto {
  @ApiProperty({ example: 'CRM sync', maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 10_000 })
  @Optional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiPropertyOptional({
    description: 'Settings shared by its flows (templates see them as settings.*)',
    type: 'object',
    additionalProperties: true,
    example: { region: 'eu' },
  })
  @Optional()
  @IsObject()
  settings?: Record<string, unknown>;
}
