import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { FlowSchema, type Flow, type Step } from '@junction/flow';
import { isGated } from '@junction/jobs';
import { encryptSecret, type JobPayload, type JobTrigger } from '@junction/protocol';
import { currentTraceCarrier } from '@junction/telemetry';
import type { AppConfig } from '../../config/app-config.ts';
import { APP_CONFIG } from '../../config/config.module.ts';
import { errorBody } from '../../common/error-body.ts';
import { ConnectionsService } from '../connections/connections.service.ts';
import { JobsRepository, type JobRow } from './jobs.repository.ts';

/** A flow version as a run needs it; versions never change, so they are cached by id. */
export interface RunnableVersion {
  versionId: string;
  flowId: string;
  integrationId: string;
  definition: Flow;
}

const VERSION_CACHE_SIZE = 500;

/**
 * Builds run payloads: the flow version, params, trigger and the flow's named connections,
 * decrypted from storage and encrypted again for the worker (which alone decrypts them, at use).
 */
@Injectable()
export class JobPayloadsService {
  private readonly key: Buffer;
  private readonly connections: ConnectionsService;
  private readonly jobs: JobsRepository;
  private readonly versions = new Map<string, RunnableVersion>();

  constructor(@Inject(APP_CONFIG) config: AppConfig, connections: ConnectionsService, jobs: JobsRepository) {
    this.key = config.secrets.key;
    this.connections = connections;
    this.jobs = jobs;
  }

  async build(input: {
    jobId: string;
    version: RunnableVersion;
    params: Record<string, unknown>;
    trigger: JobTrigger;
    attempt: number;
    parentJobId?: string | null;
    resume?: { stepId: string; records: Array<Record<string, unknown>> };
  }): Promise<JobPayload> {
    const names = connectionNames(input.version.definition);
    const resolved = await this.connections.resolveForRun(input.version.integrationId, names);
    const connections: Record<string, string> = {};
    for (const [name, config] of Object.entries(resolved))
      connections[name] = encryptSecret(JSON.stringify(config), this.key);
    // the worker's spans join the trace of whatever created the job (see JobDispatchService.create)
    const trace = currentTraceCarrier();
    // the flow itself is not in the payload: the worker reads the version from the version store
    return {
      schemaVersion: 2,
      jobId: input.jobId,
      flowId: input.version.flowId,
      flowVersionId: input.version.versionId,
      params: input.params,
      trigger: input.trigger,
      connections,
      attempt: input.attempt,
      gated: isGated(input.version.definition.concurrency),
      ...(input.parentJobId ? { parentJobId: input.parentJobId } : {}),
      ...(input.resume ? { resume: input.resume } : {}),
      ...(trace ? { trace } : {}),
    };
  }

  /** The payload of a stored job, rebuilt from PostgreSQL (to enqueue it again). */
  async forJob(job: JobRow): Promise<JobPayload> {
    const version = await this.version(job.flow_version_id);
    const resume = job.resume
      ? { stepId: job.resume.stepId, records: await this.jobs.retriedRecords(job.id) }
      : undefined;
    return this.build({
      jobId: job.id,
      version,
      params: job.params,
      trigger: job.trigger,
      attempt: job.attempt,
      parentJobId: job.parent_job_id,
      resume,
    });
  }

  remember(version: RunnableVersion): void {
    if (this.versions.size >= VERSION_CACHE_SIZE)
      this.versions.delete(this.versions.keys().next().value ?? '');
    this.versions.set(version.versionId, version);
  }

  /** Whether jobs of the version go through the flow's concurrency gate (it is limited). */
  async gated(versionId: string): Promise<boolean> {
    return isGated((await this.version(versionId)).definition.concurrency);
  }

  async version(versionId: string): Promise<RunnableVersion> {
    const cached = this.versions.get(versionId);
    if (cached) return cached;
    const rows = await this.jobs.db.query<
      Array<{ id: string; flow_id: string; definition: unknown; integration_id: string }>
    >(
      `SELECT v.id, v.flow_id, v.definition, f.integration_id
         FROM flow_versions v JOIN flows f ON f.id = v.flow_id WHERE v.id = $1`,
      [versionId],
    );
    if (rows.length === 0) throw new NotFoundException(errorBody(404, `flow version ${versionId} not found`));
    const version: RunnableVersion = {
      versionId: rows[0].id,
      flowId: rows[0].flow_id,
      integrationId: rows[0].integration_id,
      // validated when it was saved; the worker parses it again
      definition: FlowSchema.parse(rows[0].definition),
    };
    this.remember(version);
    return version;
  }
}

/** Names of the stored connections a flow's steps refer to (inline connections need none). */
export function connectionNames(flow: Flow): string[] {
  const names = new Set<string>();
  const visit = (steps: readonly Step[] | undefined) => {
    for (const step of steps ?? []) {
      if ('use' in step) {
        if (typeof step.connection === 'string') names.add(step.connection);
        visit(step.fallback);
      } else if ('if' in step) {
        visit(step.then);
        visit(step.else);
      } else if ('forEach' in step) {
        visit(step.do);
      } else {
        visit(step.try);
        visit(step.catch);
        visit(step.finally);
      }
    }
  };
  visit(flow.steps);
  visit(flow.onFailure);
  return [...names];
}
