export * from './events.ts';
export * from './secrets.ts';
export * from './job-status.ts';
export * from './job-payload.ts';
export * from './job-events.ts';
export * from './queues.ts';
