/**
 * The AuditStore contract against PostgreSQL: the same suite SQLite passes, on a real throwaway
 * server, each store in a database of its own.
 */
import { afterAll, beforeAll } from 'vitest';
import { openPgStore } from '../engine/audit/pg/backend.js';
import type { AuditStore } from '../engine/index.js';
import { describeAuditStoreContract } from './audit-store-contract.js';
import { tempDir } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;
let n = 0;
/** Each trail's database and its gate's state directory (the failed-write spool the next writer reads). */
const trails = new WeakMap<AuditStore, { url: string; state: string }>();

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

describeAuditStoreContract('PostgreSQL', {
  async create(options) {
    const db = `trail_${++n}`;
    pg.sql(`CREATE DATABASE ${db}`);
    const url = `postgresql://gate@127.0.0.1:${pg.port}/${db}`;
    const state = tempDir('policy-gate-pg-state-');
    const store = await openPgStore(url, { ...options, migrate: true, stateDir: state });
    trails.set(store, { url, state });
    return store;
  },
  async reopen(store, options) {
    const trail = trails.get(store)!;
    const next = await openPgStore(trail.url, { ...options, stateDir: trail.state });
    trails.set(next, trail);
    return next;
  },
});
