import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config.ts';
import { InjectConfig } from '../../config/config.module.ts';
import { generatePassword, hashPassword } from './password.ts';
import { UserEntity } from './user.entity.ts';

/**
 * On the first start (no users yet) creates the admin from JUNCTION_ADMIN_EMAIL and
 * JUNCTION_ADMIN_PASSWORD, or with a generated password printed once to stdout.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly db: DataSource;
  private readonly config: AppConfig;
  private readonly logger: PinoLogger;

  constructor(@InjectDataSource() db: DataSource, @InjectConfig() config: AppConfig, logger: PinoLogger) {
    this.db = db;
    this.config = config;
    this.logger = logger;
    this.logger.setContext(AdminBootstrapService.name);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail, adminPassword } = this.config.auth;
    const password = adminPassword ?? generatePassword();
    const created = await this.db.transaction(async (tx) => {
      // several API replicas may start at once: one creates the admin, the others see it
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('junction:admin-bootstrap'))`);
      if ((await tx.count(UserEntity)) > 0) return false;
      await tx.insert(UserEntity, {
        email: adminEmail,
        passwordHash: await hashPassword(password),
        role: 'admin',
      });
      return true;
    });
    if (!created) return;
    this.logger.info({ email: adminEmail }, 'created the first admin user');
    if (adminPassword === undefined) {
      // stdout, not the log: the password must not end up in log storage
      process.stdout.write(
        `\nJunction admin user created (shown once, change it or set JUNCTION_ADMIN_PASSWORD):\n` +
          `  email:    ${adminEmail}\n  password: ${password}\n\n`,
      );
    }
  }
}
