import { Global, Module } from '@nestjs/common';
import { loadConnectorRegistry } from '@junction/connectors';
import { ConnectorCatalogService } from './connector-catalog.service.ts';
import { ConnectorsController } from './connectors.controller.ts';

/** Global: flows, connections and jobs all need the one catalog loaded at boot. */
@Global()
@Module({
  controllers: [ConnectorsController],
  providers: [
    {
      provide: ConnectorCatalogService,
      useFactory: async () => new ConnectorCatalogService(await loadConnectorRegistry()),
    },
  ],
  exports: [ConnectorCatalogService],
})
export class ConnectorsModule {}
