export * from './concurrency-gate.ts';
export * from './run-dispatcher.ts';
export * from './event-publisher.ts';
export * from './event-consumer.ts';
export * from './cancel-signal.ts';
export * from './redis-connection.ts';
export { RedisScript } from './redis-script.ts';
export { RedisLock } from './redis-lock.ts';
export * from './worker-heartbeat.ts';
