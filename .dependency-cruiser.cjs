/** Layer rules: the folder tree tells the architecture, and CI holds it to that. */
module.exports = {
  forbidden: [
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'libs-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'flow-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^libs/flow/' },
      to: { path: '^(libs/(?!flow/)|apps/)' },
    },
    {
      name: 'engine-knows-only-flow-and-protocol',
      severity: 'error',
      from: { path: '^libs/engine/' },
      to: { path: '^libs/(?!engine/|flow/|protocol/)' },
    },
    {
      name: 'connectors-know-only-flow',
      severity: 'error',
      // tests may drive operations through the engine (its template compiler, runFlow)
      from: { path: '^libs/connectors/', pathNot: '^libs/connectors/test/' },
      to: { path: '^libs/(?!connectors/|flow/)' },
    },
    {
      name: 'jobs-knows-only-protocol-and-flow',
      severity: 'error',
      from: { path: '^libs/jobs/' },
      to: { path: '^libs/(?!jobs/|protocol/|flow/)' },
    },
    {
      name: 'protocol-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^libs/protocol/' },
      to: { path: '^(libs/(?!protocol/)|apps/)' },
    },
    {
      name: 'telemetry-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^libs/telemetry/' },
      to: { path: '^(libs/(?!telemetry/)|apps/)' },
    },
    {
      name: 'libs-use-no-server-frameworks',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: 'node_modules/(@nestjs|typeorm|express|fastify|@fastify|koa|hapi)/' },
    },
    {
      name: 'worker-never-touches-the-control-plane-database',
      severity: 'error',
      from: { path: '^apps/worker/' },
      to: { path: '(^apps/api/|node_modules/(typeorm|@nestjs/typeorm)/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
