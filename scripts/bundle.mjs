#!/usr/bin/env node
// Bundle the CLI into one ESM file (plus lazily loaded chunks): `check` runs once per agent
// command, and resolving and compiling dozens of modules at every start is measurable.
// Native addons and packages loaded with createRequire stay external.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONSOLE_ASSETS_MODULE, consoleAssetsModule } from './console-assets.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist/bin`, { recursive: true, force: true });
// the generated validators are plain JavaScript (too large for the type checker): copy them
// next to the compiled engine for the unbundled build (eval, bench)
mkdirSync(`${root}dist/engine/policy/generated`, { recursive: true });
copyFileSync(`${root}engine/policy/generated/validators.js`, `${root}dist/engine/policy/generated/validators.js`);
// `serve` imports the web console as a virtual module: built for the browser here, embedded in the bundle
const consoleAssets = {
  name: 'console-assets',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${CONSOLE_ASSETS_MODULE}$`) }, (a) => ({
      path: a.path,
      namespace: 'console-assets',
    }));
    b.onLoad({ filter: /.*/, namespace: 'console-assets' }, async () => ({
      contents: await consoleAssetsModule(),
      loader: 'js',
    }));
  },
};
await build({
  entryPoints: [`${root}cli/main.ts`],
  outdir: `${root}dist/bin`,
  entryNames: 'policy-gate',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'tree-sitter', 'tree-sitter-bash', 'yaml'],
  // jsonc-parser's `main` is a UMD build whose internal requires esbuild cannot follow
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  // Fastify and its plugins are CommonJS and require() Node's modules: give every chunk a require
  banner: {
    js: "import { createRequire as __pgCreateRequire } from 'node:module'; const require = __pgCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [consoleAssets],
});
chmodSync(`${root}dist/bin/policy-gate.js`, 0o755);
// the bin: a CommonJS stub that answers `check` through a resident gate's socket with only
// Node's fs and net loaded, and loads the ESM CLI above for everything else
await build({
  entryPoints: [`${root}cli/stub.ts`],
  outfile: `${root}dist/bin/policy-gate.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
  legalComments: 'none',
});
chmodSync(`${root}dist/bin/policy-gate.cjs`, 0o755);
