/**
 * The throwaway PostgreSQL server the tests start (shared with the bench, which tsc compiles
 * without test/): see bench/pg-cluster.ts.
 */
export { pgBinDir, startPg, type PgServer } from '../bench/pg-cluster.js';
