import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  STANDALONE_INTEGRATION_ID,
  STANDALONE_INTEGRATION_NAME,
} from '../../modules/integrations/standalone.ts';

/** Users, integrations (with the built-in "Standalone flows"), flows and their versions, connections. */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL DEFAULT 'admin',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_key UNIQUE (email)
      )`);
    await db.query(`
      CREATE TABLE integrations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        description text,
        settings jsonb NOT NULL DEFAULT '{}',
        built_in boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT integrations_name_key UNIQUE (name)
      )`);
    await db.query(`INSERT INTO integrations (id, name, description, built_in) VALUES ($1, $2, $3, true)`, [
      STANDALONE_INTEGRATION_ID,
      STANDALONE_INTEGRATION_NAME,
      'Flows and connections created without an integration',
    ]);
    await db.query(`
      CREATE TABLE flows (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE RESTRICT,
        name text NOT NULL,
        description text,
        enabled boolean NOT NULL DEFAULT true,
        current_version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT flows_integration_name_key UNIQUE (integration_id, name)
      )`);
    await db.query(`CREATE INDEX flows_name_id_idx ON flows (name, id)`);
    await db.query(`
      CREATE TABLE flow_versions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        version integer NOT NULL,
        definition jsonb NOT NULL,
        source text NOT NULL,
        source_format text NOT NULL CHECK (source_format IN ('json', 'yaml')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT flow_versions_flow_version_key UNIQUE (flow_id, version)
      )`);
    await db.query(`
      CREATE TABLE connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE RESTRICT,
        name text NOT NULL,
        type text NOT NULL,
        config jsonb NOT NULL DEFAULT '{}',
        secrets text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT connections_integration_name_key UNIQUE (integration_id, name)
      )`);
    await db.query(`CREATE INDEX connections_name_id_idx ON connections (name, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE connections`);
    await db.query(`DROP TABLE flow_versions`);
    await db.query(`DROP TABLE flows`);
    await db.query(`DROP TABLE integrations`);
    await db.query(`DROP TABLE users`);
  }
}
