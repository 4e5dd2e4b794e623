import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConnectorManifest } from '@junction/flow';
import { decryptSecret, encryptSecret } from '@junction/protocol';
import { In, Repository } from 'typeorm';
import type { z } from 'zod';
import type { AppConfig } from '../../config/app-config.ts';
import { InjectConfig } from '../../config/config.module.ts';
import { errorBody, invalidRequest, type RequestProblem } from '../../common/error-body.ts';
import { pageByName } from '../../common/pagination.ts';
import { ConnectorCatalogService } from '../connectors/connector-catalog.service.ts';
import { IntegrationsService } from '../integrations/integrations.service.ts';
import { checkConnectionConfig, testConnection } from './connection-config.ts';
import { ConnectionEntity } from './connection.entity.ts';
import type { ConnectionInputDto } from './dto/connection-input.dto.ts';
import type {
  ConnectionDto,
  ConnectionPageDto,
  ConnectionTestResultDto,
  ListConnectionsQuery,
} from './dto/connection.dto.ts';
import {
  SECRET_MASK,
  getPath,
  joinSecrets,
  maskSecrets,
  secretPaths,
  setPath,
  splitSecrets,
} from './secret-fields.ts';

/** A connection as the engine takes it: `{type, ...config}` with secrets in clear. */
export type ResolvedConnection = { type: string } & Record<string, unknown>;

@Injectable()
export class ConnectionsService {
  private readonly connections: Repository<ConnectionEntity>;
  private readonly integrations: IntegrationsService;
  private readonly connectors: ConnectorCatalogService;
  private readonly config: AppConfig;

  constructor(
    @InjectRepository(ConnectionEntity) connections: Repository<ConnectionEntity>,
    integrations: IntegrationsService,
    connectors: ConnectorCatalogService,
    @InjectConfig() config: AppConfig,
  ) {
    this.connections = connections;
    this.integrations = integrations;
    this.connectors = connectors;
    this.config = config;
  }

  async create(dto: ConnectionInputDto): Promise<ConnectionDto> {
    const integration = await this.integrations.resolve(dto.integrationId);
    const schema = this.schemaFor(dto.type);
    const paths = secretPaths(schema);
    const masked = paths.filter((p) => getPath(dto.config, p) === SECRET_MASK);
    if (masked.length > 0)
      throw invalidRequest(
        'invalid request',
        masked.map((p) => ({
          path: `config.${p}`,
          message: `"${SECRET_MASK}" keeps a stored secret, but there is none yet`,
        })),
      );
    this.check(schema, dto.type, dto.config);
    await this.assertNameFree(integration.id, dto.name, integration.name);
    const entity = this.connections.create({ integrationId: integration.id, name: dto.name, type: dto.type });
    this.store(entity, dto.config, paths);
    return this.toDto(await this.connections.save(entity));
  }

  /** Replaces the connection; a secret field sent as "********" keeps its stored value. */
  async update(id: string, dto: ConnectionInputDto): Promise<ConnectionDto> {
    const entity = await this.find(id);
    const integration = await this.integrations.resolve(dto.integrationId ?? entity.integrationId);
    const schema = this.schemaFor(dto.type);
    const paths = secretPaths(schema);
    const stored = this.readSecrets(entity);
    const config = structuredClone(dto.config);
    const problems: RequestProblem[] = [];
    for (const path of paths) {
      if (getPath(config, path) !== SECRET_MASK) continue;
      if (path in stored) setPath(config, path, stored[path]);
      else
        problems.push({
          path: `config.${path}`,
          message: `"${SECRET_MASK}" keeps a stored secret, but none is stored`,
        });
    }
    if (problems.length > 0) throw invalidRequest('invalid request', problems);
    this.check(schema, dto.type, config);
    if (dto.name !== entity.name || integration.id !== entity.integrationId)
      await this.assertNameFree(integration.id, dto.name, integration.name);
    entity.integrationId = integration.id;
    entity.name = dto.name;
    entity.type = dto.type;
    this.store(entity, config, paths);
    return this.toDto(await this.connections.save(entity));
  }

  async get(id: string): Promise<ConnectionDto> {
    return this.toDto(await this.find(id));
  }

  async list(query: ListConnectionsQuery): Promise<ConnectionPageDto> {
    const qb = this.connections.createQueryBuilder('c');
    if (query.integrationId !== undefined)
      qb.andWhere('c.integration_id = :integrationId', { integrationId: query.integrationId });
    if (query.type !== undefined) qb.andWhere('c.type = :type', { type: query.type });
    return pageByName(qb, query, (e) => this.toDto(e));
  }

  async remove(id: string): Promise<void> {
    const result = await this.connections.delete({ id });
    if (result.affected === 0) throw connectionNotFound(id);
  }

  /** Opens and closes a real connection through the connector; a failure is `ok: false`, not an error. */
  async test(id: string): Promise<ConnectionTestResultDto> {
    const entity = await this.find(id);
    const manifest = this.connectors.forConnectionType(entity.type);
    if (!manifest?.connection)
      return {
        ok: false,
        message: `no installed connector handles connection type "${entity.type}"`,
        durationMs: 0,
      };
    const checked = checkConnectionConfig(
      manifest.connection,
      entity.type,
      joinSecrets(entity.config, this.readSecrets(entity)),
    );
    if (!checked.ok)
      return {
        ok: false,
        message: `the stored config is not valid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
        durationMs: 0,
      };
    return testConnection(manifest, checked.value, this.config.connections.testTimeoutMs);
  }

  /**
   * The named connections of an integration with their secrets decrypted, for a job payload (which
   * re-encrypts them). A 400 lists every name that does not exist.
   */
  async resolveForRun(
    integrationId: string,
    names: readonly string[],
  ): Promise<Record<string, ResolvedConnection>> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return {};
    const rows = await this.connections.findBy({ integrationId, name: In(unique) });
    const byName = new Map(rows.map((r) => [r.name, r]));
    const missing = unique.filter((n) => !byName.has(n));
    if (missing.length > 0) {
      const list = missing.map((n) => `"${n}"`).join(', ');
      throw new BadRequestException(
        errorBody(400, `the flow uses connection(s) ${list} that do not exist in its integration`),
      );
    }
    const resolved: Record<string, ResolvedConnection> = {};
    for (const [name, row] of byName)
      resolved[name] = { ...joinSecrets(row.config, this.readSecrets(row)), type: row.type };
    return resolved;
  }

  async find(id: string): Promise<ConnectionEntity> {
    const entity = await this.connections.findOneBy({ id });
    if (!entity) throw connectionNotFound(id);
    return entity;
  }

  private schemaFor(type: string): z.ZodType {
    const manifest: ConnectorManifest | undefined = this.connectors.forConnectionType(type);
    if (!manifest?.connection) {
      const known = this.connectors.connectionTypes();
      throw invalidRequest('invalid request', [
        { path: 'type', message: `unknown connection type "${type}" (known: ${known.join(', ') || 'none'})` },
      ]);
    }
    return manifest.connection;
  }

  private check(schema: z.ZodType, type: string, config: Record<string, unknown>): void {
    const result = checkConnectionConfig(schema, type, config);
    if (!result.ok) throw invalidRequest('invalid connection config', result.problems);
  }

  private store(entity: ConnectionEntity, config: Record<string, unknown>, paths: readonly string[]): void {
    const { plain, secrets } = splitSecrets(config, paths);
    entity.config = plain;
    entity.secrets =
      Object.keys(secrets).length > 0
        ? encryptSecret(JSON.stringify(secrets), this.config.secrets.key)
        : null;
  }

  private readSecrets(entity: ConnectionEntity): Record<string, unknown> {
    if (entity.secrets === null) return {};
    return JSON.parse(decryptSecret(entity.secrets, this.config.secrets.key)) as Record<string, unknown>;
  }

  private toDto(e: ConnectionEntity): ConnectionDto {
    const secrets = this.readSecretsForDisplay(e);
    return {
      id: e.id,
      integrationId: e.integrationId,
      name: e.name,
      type: e.type,
      config: maskSecrets(e.config, secrets),
      secretFields: Object.keys(secrets).sort(),
      createdAt: e.createdAt.toISOString(),
      updatedAt: e.updatedAt.toISOString(),
    };
  }

  /** Which secrets are stored, without needing their values: a wrong key still lists the connection. */
  private readSecretsForDisplay(e: ConnectionEntity): Record<string, unknown> {
    try {
      return this.readSecrets(e);
    } catch {
      return {};
    }
  }

  private async assertNameFree(integrationId: string, name: string, integrationName: string): Promise<void> {
    if (await this.connections.existsBy({ integrationId, name }))
      throw new ConflictException(
        errorBody(409, `a connection named "${name}" already exists in integration "${integrationName}"`),
      );
  }
}

function connectionNotFound(id: string): NotFoundException {
  return new NotFoundException(errorBody(404, `connection ${id} not found`));
}
