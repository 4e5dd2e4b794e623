/**
 * The baseline's consumer: a plain BullMQ worker with a no-op processor. Prints
 * {"ready": true} when connected and {"doneAt": <epoch ms>} after `count` jobs.
 *   node bench/queued-runs/raw-worker.ts <redisUrl> <prefix> <count> <concurrency>
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, countText, concurrencyText] = process.argv.slice(2);
const count = Number(countText);
let done = 0;
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker('raw-noop', async () => undefined, {
  connection,
  prefix,
  concurrency: Number(concurrencyText),
  removeOnComplete: { count: 1000 },
});
worker.on('completed', () => {
  done++;
  if (done === count) {
    process.stdout.write(`${JSON.stringify({ doneAt: Date.now() })}\n`);
    void worker.close().then(() => connection.quit());
  }
});
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
