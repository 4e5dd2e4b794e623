/**
 * What the API puts on the run queue and a worker needs to run a job without the control-plane
 * database. Versioned from day one: a payload queued by an older API is upgraded step by step
 * when a newer worker reads it, and a worker refuses (clearly) a payload newer than it knows.
 */
import { z } from 'zod';

export const JOB_PAYLOAD_VERSION = 2;

const JsonRecord = z.record(z.string(), z.unknown());

export const JobTriggerSchema = z.object({
  /** What started the job: manual, api, schedule, listener, retry, ... */
  type: z.string().min(1),
  payload: z.unknown().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  query: z.record(z.string(), z.string()).optional(),
});
export type JobTrigger = z.output<typeof JobTriggerSchema>;

export const JobResumeSchema = z.object({
  /** The step the records failed in: the run starts there. */
  stepId: z.string().min(1),
  /** The records as they entered that step. */
  records: z.array(JsonRecord),
});
export type JobResume = z.output<typeof JobResumeSchema>;

export const JobPayloadV1Schema = z.object({
  schemaVersion: z.literal(1),
  jobId: z.string().min(1),
  flowId: z.string().min(1),
  flowVersionId: z.string().min(1),
  /** The validated flow definition of that version (the worker re-parses it with the flow schema). */
  flow: JsonRecord,
  /** Raw parameter values; the engine resolves them against the flow's param types. */
  params: JsonRecord,
  trigger: JobTriggerSchema,
  /** Connection name → its config as JSON, encrypted with encryptSecret (secrets.ts). */
  connections: z.record(z.string(), z.string()),
  resume: JobResumeSchema.optional(),
  attempt: z.number().int().min(1),
  parentJobId: z.string().min(1).optional(),
  /**
   * false: the flow's concurrency is unlimited, so the job does not go through the per-flow gate
   * (no slot to claim or free); its worker's liveness comes from the worker heartbeat instead of a
   * per-job lease. Absent (payloads from before it was added): gated.
   */
  gated: z.boolean().optional(),
  /**
   * W3C trace context of the request that created the job, so the worker's spans join its trace.
   * Optional and additive: a worker that predates it drops it (unknown keys are stripped).
   */
  trace: z
    .object({ traceparent: z.string().max(256), tracestate: z.string().max(512).optional() })
    .optional(),
});
export type JobPayloadV1 = z.output<typeof JobPayloadV1Schema>;

/**
 * Version 2: the flow definition is no longer copied into every job. The API stores each flow
 * version once in Redis (`FlowVersionStore`, `<prefix>:flow-version:<id>`) and the worker reads
 * it by `flowVersionId` (and caches it): a backlog of a million runs of a large flow no longer
 * holds a million copies of it. Payloads upgraded from version 1 keep their inline `flow`.
 */
export const JobPayloadV2Schema = JobPayloadV1Schema.extend({
  schemaVersion: z.literal(2),
  /** The flow definition inline (payloads from version 1); absent: read it from the version store. */
  flow: JsonRecord.optional(),
});
export type JobPayloadV2 = z.output<typeof JobPayloadV2Schema>;

/** The payload type of the current version. */
export type JobPayload = JobPayloadV2;

export class JobPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobPayloadError';
  }
}

type Upgrade = (old: Record<string, unknown>) => Record<string, unknown>;

/**
 * Upgrades from version n (the key) to n + 1. Adding version 2 means: add the V2 schema, make it
 * the current one, and put the 1 → 2 step here, so jobs queued before a deploy still run after it.
 */
const UPGRADES: Readonly<Record<number, Upgrade>> = {
  // a version-1 job carries its flow inline, and keeps it: its version may not be in the store
  1: (old) => {
    if (typeof old.flow !== 'object' || old.flow === null)
      throw new JobPayloadError('job payload: flow: required in schemaVersion 1');
    return { ...old, schemaVersion: 2 };
  },
};

/** Validates (and upgrades) a payload read from the queue; throws JobPayloadError naming the field. */
export function parseJobPayload(data: unknown): JobPayload {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new JobPayloadError('job payload: expected an object');
  }
  let current = data as Record<string, unknown>;
  let version = current.schemaVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new JobPayloadError(
      `job payload: schemaVersion: expected a positive integer, got ${JSON.stringify(version)}`,
    );
  }
  if (version > JOB_PAYLOAD_VERSION) {
    throw new JobPayloadError(
      `job payload: schemaVersion ${version} is newer than this worker understands (${JOB_PAYLOAD_VERSION}); upgrade the worker`,
    );
  }
  while (version < JOB_PAYLOAD_VERSION) {
    const upgrade = UPGRADES[version];
    if (!upgrade) throw new JobPayloadError(`job payload: no upgrade from schemaVersion ${version}`);
    current = upgrade(current);
    version += 1;
  }
  const parsed = JobPayloadV2Schema.safeParse(current);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new JobPayloadError(`job payload: ${problems.join('; ')}`);
  }
  return parsed.data;
}
