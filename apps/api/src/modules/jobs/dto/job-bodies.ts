import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsUUID } from 'class-validator';
import { z } from 'zod';

/** Validated with its zod schema (see AppValidationPipe): the hottest route's body. */
export class RunFlowBody {
  static readonly schema = z.strictObject({ params: z.record(z.string(), z.unknown()).optional() });

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "Parameter values, checked against the flow's parameter types",
    example: { since: '2026-01-01' },
  })
  params?: Record<string, unknown>;
}

export class RetryErrorsBody {
  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: 'The errors to retry; default: every open error not retried yet',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @IsUUID('all', { each: true })
  errorIds?: string[];
}

export class UpdateJobErrorBody {
  @ApiProperty({ enum: ['resolved', 'ignored', 'open'] })
  @IsIn(['resolved', 'ignored', 'open'])
  status!: 'resolved' | 'ignored' | 'open';
}
