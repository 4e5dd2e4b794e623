import type { Redis } from 'ioredis';
import { subscribeWhenReady } from './redis-connection.ts';

/** Tells every worker to abort the job; the one running it does. Fire and forget. */
export async function publishCancel(redis: Redis, channel: string, jobId: string): Promise<void> {
  await redis.publish(channel, jobId);
}

/**
 * Listens for cancel requests on a subscriber connection (which can do nothing else) and calls
 * back with each job id.
 */
export class CancelListener {
  private readonly subscriber: Redis;
  private readonly channel: string;
  private readonly onCancel: (jobId: string) => void;

  constructor(subscriber: Redis, channel: string, onCancel: (jobId: string) => void) {
    this.subscriber = subscriber;
    this.channel = channel;
    this.onCancel = onCancel;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onCancel(message);
    });
    // ioredis re-subscribes by itself after a reconnect
    await subscribeWhenReady(this.subscriber, this.channel);
  }

  async stop(): Promise<void> {
    await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
