/**
 * The engine's layers import one way (README, "Architecture"). Bottom to top:
 *
 *   util → model → shell → policy → risk → whitelist → audit → gate → authoring → front ends
 *
 * A folder may import its own files and any folder below it, never one above. The front ends
 * (cli/, and later server/ and hooks/) import the engine's public surface (engine/index.ts) and
 * the model; the engine never imports a front end. No import cycle anywhere, type-only imports
 * included. `npm run lint` runs this; `npm test` runs lint first.
 */
const LAYERS = ['util', 'model', 'shell', 'policy', 'risk', 'whitelist', 'audit', 'gate', 'authoring'];

const layerRules = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `engine/${layer}/ may import only ${LAYERS.slice(0, i + 1).join(', ')} (layers below it)`,
  severity: 'error',
  from: { path: `^engine/${layer}/` },
  to: {
    path: '^engine/',
    pathNot: [`^engine/(${LAYERS.slice(0, i + 1).join('|')})/`],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle ties modules together so that neither can change or load alone',
      severity: 'error',
      from: { path: '^(engine|cli)/' },
      to: { circular: true },
    },
    {
      name: 'engine-not-front-ends',
      comment: 'the engine serves front ends; it never imports one',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: '^(cli|bin|bench|test)/' },
    },
    {
      name: 'front-ends-use-the-api',
      comment:
        'cli/ reaches the engine through its public surfaces: engine/index.ts (the gate), ' +
        'engine/authoring/index.ts (authoring, loaded lazily), the vocabulary in engine/model/, and the ' +
        'light modules every front end reports with (errors, exit codes, version)',
      severity: 'error',
      from: { path: '^cli/' },
      to: {
        path: '^engine/',
        pathNot: [
          '^engine/index\\.ts$',
          '^engine/authoring/index\\.ts$',
          '^engine/model/',
          '^engine/util/(exit-codes|errors|version|quote|store-path)\\.ts$',
        ],
      },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^engine/policy/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
