import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { subscribeWhenReady } from '@junction/jobs';
import type { LiveEventMessage } from '@junction/protocol';
import { JobsRedisService } from '../jobs/jobs-redis.service.ts';

type Listener = (messages: LiveEventMessage[]) => void;

/**
 * Events of a job as they are stored, from whichever API replica stored them: the consumer
 * publishes each batch on the job's channel, and this replica subscribes to the channels its SSE
 * clients watch (one Redis subscription per job, shared by its clients).
 */
@Injectable()
export class LiveEventsService implements OnApplicationShutdown {
  private readonly redis: JobsRedisService;
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(redis: JobsRedisService) {
    this.redis = redis;
  }

  /** Calls back with every batch of the job's events stored from now on; returns the unsubscribe. */
  async subscribe(jobId: string, listener: Listener): Promise<() => void> {
    const channel = this.channel(jobId);
    const subscriber = this.connection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await subscribeWhenReady(subscriber, channel);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(channel);
        subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.listeners.clear();
  }

  private channel(jobId: string): string {
    return `${this.redis.names.liveChannel}:${jobId}`;
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redis.connection('live');
    subscriber.on('message', (channel: string, text: string) => {
      const set = this.listeners.get(channel);
      if (!set || set.size === 0) return;
      let messages: LiveEventMessage[];
      try {
        messages = JSON.parse(text) as LiveEventMessage[];
      } catch {
        return;
      }
      for (const listener of set) listener(messages);
    });
    this.subscriber = subscriber;
    return subscriber;
  }
}
