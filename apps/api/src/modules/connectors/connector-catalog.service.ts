import {
  catalogOf,
  type ConnectorCatalog,
  type ConnectorManifest,
  type ConnectorRegistry,
} from '@junction/flow';

/**
 * The connectors this build ships, loaded once at boot (ConnectorsModule's factory): flows are
 * validated against them and connection configs against their connection schemas.
 */
export class ConnectorCatalogService {
  readonly registry: ConnectorRegistry;
  readonly catalog: ConnectorCatalog;

  constructor(registry: ConnectorRegistry) {
    this.registry = registry;
    this.catalog = catalogOf(registry);
  }

  /** The connector whose connection `type` values include this one. */
  forConnectionType(type: string): ConnectorManifest | undefined {
    return this.registry
      .list()
      .find((m) => m.connection !== undefined && connectionTypesOf(m).includes(type));
  }

  connectionTypes(): string[] {
    return this.registry
      .list()
      .filter((m) => m.connection !== undefined)
      .flatMap(connectionTypesOf)
      .sort();
  }
}

export function connectionTypesOf(m: ConnectorManifest): readonly string[] {
  return m.connectionTypes ?? [m.id];
}
