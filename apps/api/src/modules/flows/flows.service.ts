import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { validateFlow, type Flow } from '@junction/flow';
import { DataSource, Repository, type EntityManager } from 'typeorm';
import { errorBody, invalidRequest } from '../../common/error-body.ts';
import { pageByName } from '../../common/pagination.ts';
import { ConnectorCatalogService } from '../connectors/connector-catalog.service.ts';
import { IntegrationsService } from '../integrations/integrations.service.ts';
import type { ListFlowsQuery } from './dto/flow-queries.ts';
import type {
  FlowDto,
  FlowPageDto,
  FlowSummaryDto,
  FlowVersionDto,
  FlowVersionListDto,
  FlowVersionSummaryDto,
} from './dto/flow.dto.ts';
import { readFlowBody, renderFlow } from './flow-document.ts';
import { FlowVersionEntity, type SourceFormat } from './flow-version.entity.ts';
import { FlowEntity } from './flow.entity.ts';

/** What the jobs module needs to run a flow: its current version, parsed with defaults filled in. */
export interface RunnableFlow {
  flow: FlowEntity;
  versionId: string;
  version: number;
  definition: Flow;
  integrationId: string;
  enabled: boolean;
}

export interface FlowExport {
  filename: string;
  contentType: string;
  body: string;
}

@Injectable()
export class FlowsService {
  private readonly flows: Repository<FlowEntity>;
  private readonly versions: Repository<FlowVersionEntity>;
  private readonly db: DataSource;
  private readonly integrations: IntegrationsService;
  private readonly connectors: ConnectorCatalogService;

  constructor(
    @InjectRepository(FlowEntity) flows: Repository<FlowEntity>,
    @InjectRepository(FlowVersionEntity) versions: Repository<FlowVersionEntity>,
    @InjectDataSource() db: DataSource,
    integrations: IntegrationsService,
    connectors: ConnectorCatalogService,
  ) {
    this.flows = flows;
    this.versions = versions;
    this.db = db;
    this.integrations = integrations;
    this.connectors = connectors;
  }

  async create(body: unknown, integrationId: string | undefined): Promise<FlowDto> {
    const doc = readFlowBody(body);
    const flow = this.validate(doc.value);
    const integration = await this.integrations.resolve(integrationId);
    const { entity, version } = await this.db.transaction(async (tx) => {
      await this.assertNameFree(tx, integration.id, flow.name, integration.name);
      const entity = await tx.save(
        tx.create(FlowEntity, {
          integrationId: integration.id,
          name: flow.name,
          description: flow.description ?? null,
          enabled: true,
          currentVersion: 1,
        }),
      );
      const version = await tx.save(
        tx.create(FlowVersionEntity, {
          flowId: entity.id,
          version: 1,
          definition: doc.value,
          source: doc.source,
          sourceFormat: doc.format,
        }),
      );
      return { entity, version };
    });
    return toFlowDto(entity, version);
  }

  /** Saves a new version; earlier versions stay as they were. */
  async update(id: string, body: unknown): Promise<FlowDto> {
    const doc = readFlowBody(body);
    const flow = this.validate(doc.value);
    const { entity, version } = await this.db.transaction(async (tx) => {
      // the row lock serialises concurrent saves, so version numbers never collide
      const entity = await tx.findOne(FlowEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!entity) throw flowNotFound(id);
      if (flow.name !== entity.name) {
        const integration = await this.integrations.find(entity.integrationId);
        await this.assertNameFree(tx, entity.integrationId, flow.name, integration.name);
      }
      const version = await tx.save(
        tx.create(FlowVersionEntity, {
          flowId: id,
          version: entity.currentVersion + 1,
          definition: doc.value,
          source: doc.source,
          sourceFormat: doc.format,
        }),
      );
      entity.name = flow.name;
      entity.description = flow.description ?? null;
      entity.currentVersion = version.version;
      return { entity: await tx.save(entity), version };
    });
    return toFlowDto(entity, version);
  }

  async get(id: string): Promise<FlowDto> {
    const entity = await this.find(id);
    return toFlowDto(entity, await this.currentVersion(entity));
  }

  async list(query: ListFlowsQuery): Promise<FlowPageDto> {
    const qb = this.flows.createQueryBuilder('f');
    if (query.integrationId !== undefined)
      qb.andWhere('f.integration_id = :integrationId', { integrationId: query.integrationId });
    if (query.enabled !== undefined) qb.andWhere('f.enabled = :enabled', { enabled: query.enabled });
    return pageByName(qb, query, toSummaryDto);
  }

  async listVersions(id: string): Promise<FlowVersionListDto> {
    await this.find(id);
    // the name only, not every definition
    const rows = await this.db.query<
      { id: string; version: number; name: string | null; source_format: string; created_at: Date }[]
    >(
      `SELECT id, version, definition->>'name' AS name, source_format, created_at
         FROM flow_versions WHERE flow_id = $1 ORDER BY version DESC`,
      [id],
    );
    return {
      items: rows.map((r) => ({
        id: r.id,
        version: r.version,
        name: r.name ?? '',
        sourceFormat: r.source_format,
        createdAt: r.created_at.toISOString(),
      })),
    };
  }

  async getVersion(id: string, version: number): Promise<FlowVersionDto> {
    await this.find(id);
    const row = await this.versions.findOneBy({ flowId: id, version });
    if (!row) throw new NotFoundException(errorBody(404, `flow ${id} has no version ${version}`));
    return { ...toVersionSummary(row), flowId: row.flowId, definition: row.definition };
  }

  async setEnabled(id: string, enabled: boolean): Promise<FlowDto> {
    const entity = await this.find(id);
    entity.enabled = enabled;
    const saved = await this.flows.save(entity);
    return toFlowDto(saved, await this.currentVersion(saved));
  }

  async export(id: string, format: SourceFormat): Promise<FlowExport> {
    const entity = await this.find(id);
    const version = await this.currentVersion(entity);
    return {
      filename: `${entity.name.replace(/[^A-Za-z0-9._-]+/g, '-')}.flow.${format}`,
      contentType: format === 'yaml' ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8',
      body: renderFlow(version.source, version.sourceFormat, format),
    };
  }

  /**
   * Deletes the flow, its versions and its finished jobs; refused (409) while a job of it is
   * queued, running or cancelling, since those would run on, or finish, without their flow. One
   * statement, so no run slips in between the check and the delete.
   */
  async remove(id: string): Promise<void> {
    // the jobs table belongs to the jobs module (which depends on this one): read here, in the
    // same statement as the delete, rather than through a service that would make a cycle
    const rows = await this.db.query<Array<{ deleted: boolean; active: number; present: boolean }>>(
      `WITH active AS (
         SELECT count(*)::int AS n FROM jobs
          WHERE flow_id = $1 AND status IN ('queued', 'running', 'cancelling')),
       deleted AS (
         DELETE FROM flows WHERE id = $1 AND (SELECT n FROM active) = 0 RETURNING id)
       SELECT EXISTS (SELECT 1 FROM deleted) AS deleted, (SELECT n FROM active) AS active,
              EXISTS (SELECT 1 FROM flows WHERE id = $1) AS present`,
      [id],
    );
    const outcome = rows[0];
    if (outcome.deleted) return;
    if (!outcome.present) throw flowNotFound(id);
    throw new ConflictException(
      errorBody(
        409,
        `flow ${id} has ${outcome.active} job(s) queued or running: cancel them (POST /api/v1/jobs/{id}/cancel) or let them finish, then delete it`,
      ),
    );
  }

  /**
   * The flow's current version, parsed and defaulted, for a run. Re-validated against today's
   * connectors, since they may have changed since the version was saved.
   */
  async getRunnable(flowId: string): Promise<RunnableFlow> {
    const entity = await this.find(flowId);
    const version = await this.currentVersion(entity);
    const result = validateFlow(version.definition, { catalog: this.connectors.catalog });
    if (!result.ok)
      throw invalidRequest(
        `flow "${entity.name}" version ${version.version} is no longer valid`,
        result.problems,
      );
    return {
      flow: entity,
      versionId: version.id,
      version: version.version,
      definition: result.flow,
      integrationId: entity.integrationId,
      enabled: entity.enabled,
    };
  }

  async find(id: string): Promise<FlowEntity> {
    const entity = await this.flows.findOneBy({ id });
    if (!entity) throw flowNotFound(id);
    return entity;
  }

  private async currentVersion(entity: FlowEntity): Promise<FlowVersionEntity> {
    const version = await this.versions.findOneBy({ flowId: entity.id, version: entity.currentVersion });
    if (!version)
      throw new Error(`flow ${entity.id} has no row for its current version ${entity.currentVersion}`);
    return version;
  }

  private validate(value: unknown): Flow {
    const result = validateFlow(value, { catalog: this.connectors.catalog });
    if (!result.ok) throw invalidRequest('invalid flow', result.problems);
    return result.flow;
  }

  private async assertNameFree(
    tx: EntityManager,
    integrationId: string,
    name: string,
    integrationName: string,
  ): Promise<void> {
    if (await tx.existsBy(FlowEntity, { integrationId, name }))
      throw new ConflictException(
        errorBody(409, `a flow named "${name}" already exists in integration "${integrationName}"`),
      );
  }
}

function flowNotFound(id: string): NotFoundException {
  return new NotFoundException(errorBody(404, `flow ${id} not found`));
}

function toSummaryDto(e: FlowEntity): FlowSummaryDto {
  return {
    id: e.id,
    integrationId: e.integrationId,
    name: e.name,
    description: e.description,
    enabled: e.enabled,
    version: e.currentVersion,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

function toFlowDto(e: FlowEntity, v: FlowVersionEntity): FlowDto {
  return { ...toSummaryDto(e), versionId: v.id, definition: v.definition };
}

function toVersionSummary(v: FlowVersionEntity): FlowVersionSummaryDto {
  return {
    id: v.id,
    version: v.version,
    name: typeof v.definition.name === 'string' ? v.definition.name : '',
    sourceFormat: v.sourceFormat,
    createdAt: v.createdAt.toISOString(),
  };
}
