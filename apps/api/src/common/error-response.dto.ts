import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ProblemDto {
  @ApiProperty({ example: 'steps[0].use', description: 'Where the problem is; empty for the whole body' })
  path!: string;

  @ApiProperty({ example: 'unknown connector "nope"' })
  message!: string;
}

/** The shape of every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'invalid request: name: must be a string' })
  message!: string;

  @ApiPropertyOptional({ type: [ProblemDto] })
  problems?: ProblemDto[];

  @ApiPropertyOptional({ description: 'Set on 5xx answers; quote it when reporting the failure' })
  requestId?: string;
}
