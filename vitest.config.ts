import { defineConfig } from 'vitest/config';

export default defineConfig({
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
