import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A named connection of an integration; flows refer to it by name. */
@Entity({ name: 'connections' })
export class ConnectionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'integration_id', type: 'uuid' })
  integrationId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** A connection type of some connector (postgres, mysql, http...). */
  @Column({ type: 'text' })
  type!: string;

  /** The config without its secret fields. */
  @Column({ type: 'jsonb', default: {} })
  config!: Record<string, unknown>;

  /** The secret fields, `{path: value}` as JSON, encrypted (AES-256-GCM); null when there are none. */
  @Column({ type: 'text', nullable: true })
  secrets!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
