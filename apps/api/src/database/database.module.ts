import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.ts';
import type { AppConfig } from '../config/app-config.ts';
import { MIGRATIONS } from './migrations.ts';
import { usePreparedStatements } from './prepared-query.ts';

/**
 * PostgreSQL through TypeORM. The schema is owned by migrations, run at start; entities are
 * registered by each feature module (TypeOrmModule.forFeature) and picked up automatically.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        type: 'postgres' as const,
        url: config.database.url,
        applicationName: 'junction-api',
        autoLoadEntities: true,
        synchronize: false,
        migrations: [...MIGRATIONS],
        migrationsRun: true,
        migrationsTransactionMode: 'each' as const,
        logging: false,
        retryAttempts: 2,
        retryDelay: 1000,
        extra: { max: 10 },
      }),
    }),
  ],
})
export class DatabaseModule implements OnModuleInit {
  private readonly db: DataSource;
  private readonly config: AppConfig;

  constructor(@InjectDataSource() db: DataSource, @Inject(APP_CONFIG) config: AppConfig) {
    this.db = db;
    this.config = config;
  }

  onModuleInit(): void {
    usePreparedStatements(this.db, this.config.database.preparedStatements);
  }
}
