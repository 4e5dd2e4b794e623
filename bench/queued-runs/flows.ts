/** The flows of the queued-runs benchmarks. */
const script = {
  name: 'bench-queued-runs',
  concurrency: { max: 'unlimited' },
  params: { n: { type: 'integer', default: 0 } },
  steps: [
    {
      id: 'shape',
      use: 'transform.map',
      with: { fields: { n: '{{ params.n }}', label: '{{ "run " & $string(params.n) }}' } },
    },
    {
      id: 'script',
      use: 'script.run',
      with: { code: 'return { n: record.n, label: record.label, doubled: record.n * 2 };' },
    },
    { id: 'noop', use: 'transform.map', with: { keep: true } },
  ],
};
export type BenchFlow = typeof script;

export const benchFlows: { script: BenchFlow; map: BenchFlow } = {
  /** map → script.run → no-op: the benchmark flow */
  script,
  /** the script step replaced by a map, to separate the queue path from the script sandbox */
  map: {
    ...script,
    name: 'bench-queued-runs-map',
    steps: [script.steps[0], { id: 'script', use: 'transform.map', with: { keep: true } }, script.steps[2]],
  },
};
