/**
 * The PostgreSQL harness itself: a real throwaway server starts, answers, restarts and is gone
 * afterwards (the PostgreSQL store's tests stand on it).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

describe('throwaway PostgreSQL', () => {
  it('answers on loopback as the superuser gate', () => {
    expect(pg.sql('select current_user')).toBe('gate');
    expect(Number(pg.sql("select current_setting('server_version_num')"))).toBeGreaterThanOrEqual(130000);
  });

  it('stops and starts again with its data kept', () => {
    pg.sql('create table t (x int); insert into t values (42)');
    pg.stop();
    expect(() => pg.sql('select 1')).toThrow();
    pg.start();
    expect(pg.sql('select x from t')).toBe('42');
  });

  it('leaves nothing behind', () => {
    const dir = pg.dir;
    pg.destroy();
    expect(existsSync(dir)).toBe(false);
    pg = null as unknown as PgServer;
  });
});
