/**
 * The PostgreSQL schema on a real server: the migrations apply, the database itself keeps the
 * trail append-only and one gap-free sequence (whoever writes: a trigger extends the one-row
 * head or refuses), one SUBMITTED/DECIDED per command, NOTIFY on append, and a role that may only
 * read and append.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_MIGRATIONS, VERSION_TABLE, grantsFor } from '../engine/audit/pg/schema.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

const insert = (seq: number, type: string, id: string | null) =>
  `INSERT INTO policy_gate.events (seq, type, command_id, at, body, leaf, chain)
   VALUES (${seq}, '${type}', ${id === null ? 'NULL' : `'${id}'`}, 'now', '\\x7b7d', '\\x00', '\\x01')`;

beforeAll(async () => {
  pg = await startPg();
  pg.sql(VERSION_TABLE);
  PG_MIGRATIONS.forEach((m, i) =>
    pg.sql(`BEGIN; ${m}; INSERT INTO policy_gate.schema_version (version) VALUES (${i + 1}); COMMIT;`),
  );
}, 120_000);

afterAll(() => pg?.destroy());

describe('the PostgreSQL schema', () => {
  it('applies, and records its version', () => {
    expect(pg.sql('SELECT max(version) FROM policy_gate.schema_version')).toBe(String(PG_MIGRATIONS.length));
  });

  it('keeps one gap-free sequence: an append must extend the head by exactly one', () => {
    pg.sql(insert(1, 'GATE_START', null));
    pg.sql(insert(2, 'SUBMITTED', 'c1'));
    expect(() => pg.sql(insert(4, 'DECIDED', 'c1'))).toThrow(/does not extend the chain head/);
    expect(() => pg.sql(insert(2, 'DECIDED', 'c1'))).toThrow();
    expect(pg.sql('SELECT seq FROM policy_gate.head')).toBe('2');
  });

  it('allows one SUBMITTED and one DECIDED per command', () => {
    expect(() => pg.sql(insert(3, 'SUBMITTED', 'c1'))).toThrow(/events_one_submitted/);
    pg.sql(insert(3, 'DECIDED', 'c1'));
    expect(() => pg.sql(insert(4, 'DECIDED', 'c1'))).toThrow(/events_one_decided/);
  });

  it('refuses updates, deletes and truncation, even by the owner', () => {
    expect(() => pg.sql("UPDATE policy_gate.events SET type = 'X' WHERE seq = 1")).toThrow(/append-only/);
    expect(() => pg.sql('DELETE FROM policy_gate.events WHERE seq = 3')).toThrow(/append-only/);
    expect(() => pg.sql('TRUNCATE policy_gate.events')).toThrow(/append-only/);
    expect(pg.sql('SELECT count(*) FROM policy_gate.events')).toBe('3');
  });

  it("the gate's role may read and append, not change or remove", () => {
    pg.sql('CREATE ROLE gate_app LOGIN; ' + grantsFor('gate_app'));
    const asApp = (sql: string) => pg.sql(`SET ROLE gate_app; ${sql}`);
    asApp(insert(4, 'SUBMITTED', 'c2'));
    expect(asApp('SELECT count(*) FROM policy_gate.events')).toBe('4');
    expect(() => asApp("UPDATE policy_gate.events SET type = 'X' WHERE seq = 4")).toThrow(/permission denied/);
    expect(() => asApp('DELETE FROM policy_gate.events')).toThrow(/permission denied/);
  });
});
