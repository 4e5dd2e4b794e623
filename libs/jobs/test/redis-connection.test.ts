import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { subscribeWhenReady } from '../src/index.ts';
import { REDIS_URL, uniquePrefix } from './support/redis.ts';

describe('subscribeWhenReady', () => {
  it('subscribes only once the connection is ready, and then hears what is published', async () => {
    const channel = uniquePrefix('subscribe');
    const subscriber = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: null });
    const publisher = new Redis(REDIS_URL);
    const sent: string[] = [];
    const origin = subscriber.sendCommand.bind(subscriber);
    subscriber.sendCommand = (...args: Parameters<typeof origin>) => {
      sent.push(`${args[0].name}@${subscriber.status}`);
      return origin(...args);
    };
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    try {
      const subscribed = subscribeWhenReady(subscriber, channel);
      await new Promise((resolve) => setTimeout(resolve, 50));
      // nothing sent while the connection is not even opened
      expect(sent.filter((c) => c.startsWith('subscribe'))).toEqual([]);
      await subscriber.connect();
      await subscribed;
      expect(sent.filter((c) => c.startsWith('subscribe'))).toEqual(['subscribe@ready']);
      await publisher.publish(channel, 'hello');
      for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heard).toEqual(['hello']);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });

  it('rejects when the connection closes before it was ready', async () => {
    const subscriber = new Redis(REDIS_URL, { lazyConnect: true });
    const subscribed = subscribeWhenReady(subscriber, 'never');
    subscriber.disconnect();
    await expect(subscribed).rejects.toThrow('closed before it was ready');
  });
});
