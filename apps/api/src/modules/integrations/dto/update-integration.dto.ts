import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, Length, MaxLength } from 'class-validator';
import { Optional } from '../../../common/optional.decorator.ts';

/** PATCH: only the fields sent change; null is refused (send "" to clear the description). */
export class UpdateIntegrationDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @Optional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ maxLength: 10_000 })
  @Optional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @Optional()
  @IsObject()
  settings?: Record<string, unknown>;
}
