// The web console of `policy-gate serve`, built for the browser and held in memory: the server
// bundle embeds the result (the virtual module `policy-gate:console-assets`), so the console
// needs no files next to the binary, no CDN and no network. Used by scripts/bundle.mjs and by
// vitest.config.ts (tests that load the server from its sources).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_ASSETS_MODULE = 'policy-gate:console-assets';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}cli/server/console/`;

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function asset(name, bytes) {
  const type = TYPES[name.slice(name.lastIndexOf('.'))];
  if (!type) throw new Error(`console: no content type for ${name}`);
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  return { type, etag, body: Buffer.from(bytes).toString('base64') };
}

/**
 * The console's files by name: `{ [file]: { type, etag, body (base64) } }`. Two entry points:
 * app.js (with app.css) and player.js (with player.css), the asciinema player, loaded only when
 * a recording is played.
 */
export async function buildConsoleAssets() {
  const result = await build({
    entryPoints: { app: `${dir}app.ts`, player: `${dir}player.ts` },
    outdir: '/ui',
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const assets = { 'index.html': asset('index.html', readFileSync(`${dir}index.html`)) };
  for (const file of result.outputFiles) assets[basename(file.path)] = asset(basename(file.path), file.contents);
  return assets;
}

let built = null;
/** The assets as the JavaScript source of a module (built once per process). */
export function consoleAssetsModule() {
  built ??= buildConsoleAssets().then((assets) => `export default ${JSON.stringify(assets)};\n`);
  return built;
}
