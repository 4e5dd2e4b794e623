/**
 * Names the API and the workers must agree on: BullMQ queues and job names, Redis streams and
 * channels. Everything lives under one prefix so deployments (and test suites) sharing a Redis
 * server stay apart.
 */
import type { JobPayload } from './job-payload.ts';

export const DEFAULT_REDIS_PREFIX = 'junction';

/** BullMQ queues, each with the job names it carries and their payload types. */
export const QUEUES = {
  runs: 'junction-runs',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOB_NAMES = {
  runFlow: 'flow.run',
} as const;

/** Payload type per queue and job name: one handler per job name, checked at start-up. */
export interface QueueJobs {
  'junction-runs': { 'flow.run': JobPayload };
}

export interface RedisNames {
  /** Prefix BullMQ puts before its own keys (`<prefix>:<queue>:...`). */
  readonly bullPrefix: string;
  /** Stream of run events, written by workers, read by the API in a consumer group. */
  readonly eventStream: string;
  /** Consumer group of the API replicas on the event stream. */
  readonly eventGroup: string;
  /** Pub/sub channel: a job id to cancel. Every worker listens; the one running it aborts it. */
  readonly cancelChannel: string;
  /** Pub/sub channel: events already stored, fanned out to the SSE clients of every API replica. */
  readonly liveChannel: string;
  /** Prefix of the per-flow concurrency gate keys. */
  readonly gatePrefix: string;
  /** Lock held by the API replica running a reconciler pass. */
  readonly reconcilerLock: string;
  /** Prefix of the stored flow versions (`<prefix>:<versionId>`), which version-2 payloads refer to. */
  readonly flowVersionPrefix: string;
  /** Prefix of the workers' heartbeat keys (`<prefix>:<workerId>`, expiring when a worker stops beating). */
  readonly workerHeartbeatPrefix: string;
}

export function redisNames(prefix: string = DEFAULT_REDIS_PREFIX): RedisNames {
  return {
    bullPrefix: `${prefix}:bull`,
    eventStream: `${prefix}:events`,
    eventGroup: 'api',
    cancelChannel: `${prefix}:cancel`,
    liveChannel: `${prefix}:live`,
    gatePrefix: `${prefix}:gate`,
    reconcilerLock: `${prefix}:reconciler:lock`,
    workerHeartbeatPrefix: `${prefix}:worker`,
    flowVersionPrefix: `${prefix}:flow-version`,
  };
}
