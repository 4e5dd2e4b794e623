import { Worker, type Job } from 'bullmq';

/**
 * A BullMQ worker that records when its fetch loop last completed a round trip to Redis. The loop
 * runs moveToActive after every blocking wait (a job arrived or the wait timed out) and after
 * every job, so an idle healthy worker passes here every drainDelay seconds; a worker stuck on a
 * half-open connection does not.
 */
export class TrackedWorker extends Worker {
  lastFetchAt = 0;

  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    const job = await super.moveToActive(token, name);
    this.lastFetchAt = Date.now();
    return job;
  }
}
