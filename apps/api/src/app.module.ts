import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from './config/app-config.ts';
import { ConfigModule } from './config/config.module.ts';
import { DatabaseModule } from './database/database.module.ts';
import { AuthModule } from './modules/auth/auth.module.ts';
import { ConnectionsModule } from './modules/connections/connections.module.ts';
import { ConnectorsModule } from './modules/connectors/connectors.module.ts';
import { FlowsModule } from './modules/flows/flows.module.ts';
import { EventsModule } from './modules/events/events.module.ts';
import { HealthModule } from './modules/health/health.module.ts';
import { IntegrationsModule } from './modules/integrations/integrations.module.ts';
import { JobsModule } from './modules/jobs/jobs.module.ts';
import { MetricsModule } from './modules/metrics/metrics.module.ts';
import { RedisModule } from './redis/redis.module.ts';
import { loggerOptions } from './logger.ts';

/** The features of the API; a new feature adds its module here. */
export const FEATURE_MODULES: readonly Type[] = [
  AuthModule,
  HealthModule,
  ConnectorsModule,
  IntegrationsModule,
  FlowsModule,
  ConnectionsModule,
  JobsModule,
  EventsModule,
];

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        ...FEATURE_MODULES,
      ],
    };
  }
}
