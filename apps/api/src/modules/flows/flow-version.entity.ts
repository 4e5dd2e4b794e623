import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type SourceFormat = 'json' | 'yaml';

/** One saved definition of a flow. Never updated: a change is a new version. */
@Entity({ name: 'flow_versions' })
export class FlowVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'flow_id', type: 'uuid' })
  flowId!: string;

  @Column({ type: 'integer' })
  version!: number;

  /** The definition as written (defaults not filled in), validated when saved. */
  @Column({ type: 'jsonb' })
  definition!: Record<string, unknown>;

  /**
   * The text as submitted, so an export in the same format gives back the user's own file
   * (comments and key order included; jsonb keeps neither).
   */
  @Column({ type: 'text' })
  source!: string;

  @Column({ name: 'source_format', type: 'text' })
  sourceFormat!: SourceFormat;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
