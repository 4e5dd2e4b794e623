import type { z } from 'zod';
import type { TemplateScanner } from './templates.ts';

export type OperationKind = 'source' | 'transform' | 'destination' | 'action';

/** What validation needs to know of an operation; libs/connectors' manifests satisfy it. */
export interface CatalogOperation {
  readonly kind: OperationKind;
  readonly input: z.ZodType;
  /** Fields holding templates the operation evaluates itself, per record (e.g. transform.map's fields). */
  readonly rawFields?: readonly string[];
  /** Fields that hold no templates at all (code, where `{{` is the code's own syntax): not checked as templates. */
  readonly literalFields?: readonly string[];
  /** Fields whose templates the operation finds itself (inside SQL, outside its literals): validation checks those. */
  readonly templatesIn?: Readonly<Record<string, TemplateScanner>>;
}

export interface CatalogConnector {
  readonly id: string;
  /** Absent when the connector needs no connection. */
  readonly connection?: z.ZodType;
  /** A step may leave the connection out even though the connector has a schema for one. */
  readonly connectionOptional?: boolean;
  readonly operations: Readonly<Record<string, CatalogOperation>>;
}

export interface ConnectorCatalog {
  connector(id: string): CatalogConnector | undefined;
  connectorIds(): readonly string[];
}
