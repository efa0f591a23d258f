import { defineConfig, type Plugin } from 'vitest/config';
import { CONSOLE_ASSETS_MODULE, consoleAssetsModule } from './scripts/console-assets.mjs';

/** Tests that load the server from its sources get the web console as `npm run build` embeds it. */
const consoleAssets: Plugin = {
  name: 'console-assets',
  resolveId: (id) => (id === CONSOLE_ASSETS_MODULE ? `\0${CONSOLE_ASSETS_MODULE}` : null),
  load: (id) => (id === `\0${CONSOLE_ASSETS_MODULE}` ? consoleAssetsModule() : null),
};

export default defineConfig({
  plugins: [consoleAssets],
  test: {
    include: ['test/**/*.test.ts'],
    // generous limits: tests wait for conditions, and a busy machine (load 4 on 2 cores) may
    // take several times longer to start processes; a limit is only there to end a hang
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // property tests and real processes share two cores with the rest of the suite
    maxWorkers: 2,
  },
});
