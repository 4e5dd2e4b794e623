import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { errorBody } from '../../common/error-body.ts';
import { pageByName } from '../../common/pagination.ts';
import type { CreateIntegrationDto } from './dto/create-integration.dto.ts';
import type { IntegrationDto, IntegrationPageDto, ListIntegrationsQuery } from './dto/integration.dto.ts';
import type { UpdateIntegrationDto } from './dto/update-integration.dto.ts';
import { IntegrationEntity } from './integration.entity.ts';
import { STANDALONE_INTEGRATION_ID } from './standalone.ts';

@Injectable()
export class IntegrationsService {
  private readonly integrations: Repository<IntegrationEntity>;
  private readonly db: DataSource;

  constructor(
    @InjectRepository(IntegrationEntity) integrations: Repository<IntegrationEntity>,
    @InjectDataSource() db: DataSource,
  ) {
    this.integrations = integrations;
    this.db = db;
  }

  async create(dto: CreateIntegrationDto): Promise<IntegrationDto> {
    await this.assertNameFree(dto.name);
    const saved = await this.integrations.save(
      this.integrations.create({
        name: dto.name,
        description: dto.description ?? null,
        settings: dto.settings ?? {},
      }),
    );
    return toDto(saved);
  }

  async list(query: ListIntegrationsQuery): Promise<IntegrationPageDto> {
    return pageByName(this.integrations.createQueryBuilder('i'), query, toDto);
  }

  async get(id: string): Promise<IntegrationDto> {
    return toDto(await this.find(id));
  }

  /** The entity, or a 404 naming the id. */
  async find(id: string): Promise<IntegrationEntity> {
    const found = await this.integrations.findOneBy({ id });
    if (!found) throw new NotFoundException(errorBody(404, `integration ${id} not found`));
    return found;
  }

  /** The given integration, or "Standalone flows" when none is given; 404 when it does not exist. */
  async resolve(id: string | undefined): Promise<IntegrationEntity> {
    return this.find(id ?? STANDALONE_INTEGRATION_ID);
  }

  async update(id: string, dto: UpdateIntegrationDto): Promise<IntegrationDto> {
    const entity = await this.find(id);
    if (dto.name !== undefined && dto.name !== entity.name) await this.assertNameFree(dto.name);
    if (dto.name !== undefined) entity.name = dto.name;
    if (dto.description !== undefined) entity.description = dto.description;
    if (dto.settings !== undefined) entity.settings = dto.settings;
    return toDto(await this.integrations.save(entity));
  }

  async remove(id: string): Promise<void> {
    const entity = await this.find(id);
    if (entity.builtIn)
      throw new ConflictException(
        errorBody(409, `the built-in "${entity.name}" integration cannot be deleted`),
      );
    const [{ flows, connections }] = await this.db.query<{ flows: number; connections: number }[]>(
      `SELECT (SELECT count(*) FROM flows WHERE integration_id = $1)::int AS flows,
              (SELECT count(*) FROM connections WHERE integration_id = $1)::int AS connections`,
      [id],
    );
    if (flows > 0 || connections > 0)
      throw new ConflictException(
        errorBody(
          409,
          `integration "${entity.name}" still has ${flows} flow(s) and ${connections} connection(s): delete them first`,
        ),
      );
    await this.integrations.delete({ id });
  }

  private async assertNameFree(name: string): Promise<void> {
    if (await this.integrations.existsBy({ name }))
      throw new ConflictException(errorBody(409, `an integration named "${name}" already exists`));
  }
}

function toDto(e: IntegrationEntity): IntegrationDto {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    settings: e.settings,
    builtIn: e.builtIn,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}
