import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error-response.dto.ts';
import { Public } from '../../common/public.decorator.ts';
import { AuthService } from './auth.service.ts';
import { TokenRequestDto } from './dto/token-request.dto.ts';
import { TokenResponseDto } from './dto/token-response.dto.ts';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  private readonly auth: AuthService;

  constructor(auth: AuthService) {
    this.auth = auth;
  }

  @Public()
  @Post('token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange email and password for a bearer token' })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Wrong email or password' })
  token(@Body() body: TokenRequestDto): Promise<TokenResponseDto> {
    return this.auth.issueToken(body.email, body.password);
  }
}
