/**
 * The baseline's consumer: a plain BullMQ worker with a no-op processor. Prints
 * {"ready": true} when connected, {"warmedAt": <epoch ms>} after the `warm` warm-up jobs and
 * {"doneAt": <epoch ms>} after `count` more.
 *   node bench/queued-runs/raw-worker.ts <redisUrl> <prefix> <count> <concurrency> [warm]
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, countText, concurrencyText, warmText = '0'] = process.argv.slice(2);
const warm = Number(warmText);
const total = warm + Number(countText);
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
  if (done === warm) process.stdout.write(`${JSON.stringify({ warmedAt: Date.now() })}\n`);
  if (done === total) {
    process.stdout.write(`${JSON.stringify({ doneAt: Date.now() })}\n`);
    void worker.close().then(() => connection.quit());
  }
});
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
