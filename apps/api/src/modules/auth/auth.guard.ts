import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { errorBody } from '../../common/error-body.ts';
import { IS_PUBLIC, QUERY_TOKEN } from '../../common/public.decorator.ts';
import { AuthService, type AuthUser } from './auth.service.ts';

export type AuthenticatedRequest = FastifyRequest & { user?: AuthUser };

/**
 * Global: every route needs `Authorization: Bearer <token>` unless marked @Public(); routes marked
 * @QueryTokenAllowed() also take `?access_token=`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly reflector: Reflector;
  private readonly auth: AuthService;

  constructor(reflector: Reflector, auth: AuthService) {
    this.reflector = reflector;
    this.auth = auth;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic === true || context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const queryToken = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (
      (header === undefined || header.trim() === '') &&
      typeof queryToken === 'string' &&
      queryToken !== '' &&
      this.reflector.get<boolean | undefined>(QUERY_TOKEN, context.getHandler()) === true
    ) {
      request.user = await this.auth.verifyToken(queryToken);
      return true;
    }
    if (header === undefined || header.trim() === '')
      throw new UnauthorizedException(
        errorBody(
          401,
          'missing bearer token: send "Authorization: Bearer <token>" (get one from POST /api/v1/auth/token)',
        ),
      );
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match)
      throw new UnauthorizedException(
        errorBody(401, 'malformed Authorization header: expected "Bearer <token>"'),
      );
    request.user = await this.auth.verifyToken(match[1]);
    return true;
  }
}
