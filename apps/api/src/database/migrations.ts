import { JobEventChunksJson1764400000000 } from '../modules/jobs/event-chunks-json.migration.ts';
import { JobEventChunks1764200000000 } from '../modules/jobs/event-chunks.migration.ts';
import { JobRetentionIndex1764300000000 } from '../modules/jobs/job-retention.migration.ts';
import { JobsSchema1764100000000 } from '../modules/jobs/jobs-schema.migration.ts';
import { JobVersionKey1764500000000 } from '../modules/jobs/job-version-key.migration.ts';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema.ts';

/**
 * Every migration, in order. A feature with its own tables adds its migration class here (with
 * a later timestamp); they run at start, each in its own transaction.
 */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  JobsSchema1764100000000,
  JobEventChunks1764200000000,
  JobRetentionIndex1764300000000,
  JobEventChunksJson1764400000000,
  JobVersionKey1764500000000,
] as const;
