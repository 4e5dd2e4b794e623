import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/public.decorator.ts';
import { HealthService, type Readiness } from './health.service.ts';

@ApiTags('health')
@Controller()
export class HealthController {
  private readonly health: HealthService;

  constructor(health: HealthService) {
    this.health = health;
  }

  /** Liveness: the process answers. */
  @Public()
  @Get('health')
  @ApiOkResponse({ description: 'The process is alive' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis both answer; 503 names the one that does not. */
  @Public()
  @Get('ready')
  @ApiOkResponse({ description: 'PostgreSQL and Redis are reachable' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is unreachable; checks say which' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string } & Readiness> {
    const readiness = await this.health.readiness();
    if (!readiness.ready) void reply.status(503);
    return { status: readiness.ready ? 'ready' : 'not ready', ...readiness };
  }
}
