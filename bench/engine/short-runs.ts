/**
 * What the engine alone spends on a short run: the queued-runs benchmark flows run in-process
 * (no queue, no worker), `concurrency` at a time, events to a no-op sink. CPU per run of this
 * process (V8's GC and compiler threads included) and the share of the time spent in GC pauses.
 *
 *   node bench/engine/short-runs.ts [--runs 50000] [--concurrency 32] [--no-script]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FlowSchema } from '../../libs/flow/src/index.ts';
import { runFlow } from '../../libs/engine/src/index.ts';
import { loadConnectorRegistry } from '../../libs/connectors/src/index.ts';
import { SharedResources } from '../../libs/engine/src/shared-resources.ts';
import { benchFlows } from '../queued-runs/flows.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50000' },
    concurrency: { type: 'string', default: '32' },
    'no-script': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const CONCURRENCY = Number(values.concurrency);
const flow = FlowSchema.parse(values['no-script'] ? benchFlows.map : benchFlows.script);
const registry = await loadConnectorRegistry();
const shared = new SharedResources();

let events = 0;
const runOne = async (n: number): Promise<void> => {
  const result = await runFlow(flow, {
    registry,
    params: { n },
    connections: () => Promise.reject(new Error('no connections here')),
    onEvent: () => {
      events++;
    },
    shared,
  });
  if (result.status !== 'completed') throw new Error(`run ${n}: ${result.status} ${result.error?.message}`);
};
const pool = async (count: number): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await runOne(next++);
    }),
  );
};

await pool(Math.min(RUNS, 5_000)); // warm-up: JIT, the script isolates
let gcMs = 0;
const gcs = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gcs.observe({ entryTypes: ['gc'] });
const cpu = process.cpuUsage();
const started = performance.now();
events = 0;
await pool(RUNS);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
gcs.disconnect();
process.stdout.write(
  `${flow.name}: ${RUNS} runs in-process, ${Math.round((RUNS * 1000) / ms)} runs/s; ` +
    `CPU per run ${((used.user + used.system) / 1000 / RUNS).toFixed(4)} ms; ` +
    `${(events / RUNS).toFixed(1)} events per run; GC pauses ${((gcMs / ms) * 100).toFixed(1)} % of the time\n`,
);
await shared.closeAll();
