import { Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { AppConfig } from '../../config/app-config.ts';
import { InjectConfig } from '../../config/config.module.ts';
import { errorBody } from '../../common/error-body.ts';
import type { TokenResponseDto } from './dto/token-response.dto.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { UserEntity } from './user.entity.ts';

/** What a valid token says about its bearer; set on the request by the guard. */
export interface AuthUser {
  id: string;
  email: string;
  role: string;
}

interface TokenClaims {
  sub: string;
  email: string;
  role: string;
  /** Expiry, seconds since the epoch (set by signAsync from expiresIn). */
  exp?: number;
}

/** Tokens verified lately: a client sends the same one with every request. */
const VERIFIED_CACHE_SIZE = 1_000;

// verified against when the email is unknown, so both failures take as long
const DUMMY_HASH = hashPassword('not-a-user-password');

@Injectable()
export class AuthService {
  private readonly users: Repository<UserEntity>;
  private readonly jwt: JwtService;
  private readonly config: AppConfig;
  private readonly verified = new Map<string, { user: AuthUser; expiresAtMs: number }>();

  constructor(
    @InjectRepository(UserEntity) users: Repository<UserEntity>,
    jwt: JwtService,
    @InjectConfig() config: AppConfig,
  ) {
    this.users = users;
    this.jwt = jwt;
    this.config = config;
  }

  async issueToken(email: string, password: string): Promise<TokenResponseDto> {
    const user = await this.users.findOneBy({ email: email.toLowerCase() });
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH));
    if (!user || !ok) throw new UnauthorizedException(errorBody(401, 'wrong email or password'));
    const claims: TokenClaims = { sub: user.id, email: user.email, role: user.role };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: this.config.auth.tokenTtlSeconds });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.auth.tokenTtlSeconds };
  }

  /**
   * Throws a 401 naming what is wrong with the token. A token verified before is taken from a
   * small cache until it expires: the signature check and JSON parse are a noticeable part of a
   * small request.
   */
  async verifyToken(token: string): Promise<AuthUser> {
    const cached = this.verified.get(token);
    if (cached && cached.expiresAtMs > Date.now()) return cached.user;
    return this.verifySignature(token);
  }

  private async verifySignature(token: string): Promise<AuthUser> {
    let claims: TokenClaims;
    try {
      claims = await this.jwt.verifyAsync<TokenClaims>(token);
    } catch (e) {
      const expired = (e as Error).name === 'TokenExpiredError';
      throw new UnauthorizedException(
        errorBody(
          401,
          expired
            ? 'bearer token has expired: get a new one from POST /api/v1/auth/token'
            : 'invalid bearer token',
        ),
      );
    }
    const user: AuthUser = { id: claims.sub, email: claims.email, role: claims.role };
    if (claims.exp !== undefined) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE)
        this.verified.delete(this.verified.keys().next().value ?? '');
      this.verified.set(token, { user, expiresAtMs: claims.exp * 1000 });
    }
    return user;
  }

  async createUser(email: string, password: string, role = 'admin'): Promise<UserEntity> {
    return this.users.save(
      this.users.create({ email: email.toLowerCase(), passwordHash: await hashPassword(password), role }),
    );
  }
}
