/**
 * `store copy` from SQLite onto PostgreSQL on a real server: every event with its bytes, leaf and
 * chain value (more than one copy batch and one INSERT statement's worth), every checkpoint as
 * signed, the gate's key carried; the copy verifies with the source's chain; a rerun after more
 * appends copies only what is new; a target holding another trail is refused.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyStore,
  openGate,
  openStoreForReading,
  resolveLocations,
  type Locations,
  type RawEvent,
} from '../engine/index.js';
import { POLICY_DIR, tempDir } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

function pgLocations(name: string): Locations {
  pg.sql(`CREATE DATABASE ${name}`);
  return resolveLocations({
    store: `postgresql://gate@127.0.0.1:${pg.port}/${name}`,
    policy: POLICY_DIR,
    cwd: tempDir(),
    env: { POLICY_GATE_STATE: tempDir('policy-gate-pg-state-') },
  });
}

/** A SQLite trail of `commands` whitelisted checks (two events each, checked 50 at a time). */
async function sqliteTrail(commands: number, dir = tempDir()): Promise<Locations> {
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const loc = resolveLocations({ store: join(dir, '.policy-gate', 'audit.db'), policy: POLICY_DIR, cwd: dir, env: {} });
  const gate = await openGate(loc, { home: '/home/test' });
  try {
    for (let i = 0; i < commands; i += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, commands - i) }, () =>
          gate.check({ command: 'git status', cwd: dir, wait: false }),
        ),
      );
  } finally {
    await gate.close();
  }
  return loc;
}

async function trail(loc: Locations): Promise<{ events: RawEvent[]; notes: string[] }> {
  const store = await openStoreForReading(loc);
  try {
    const events: RawEvent[] = [];
    for await (const e of store.rawEvents()) events.push(e);
    return { events, notes: (await store.checkpoints()).map((c) => c.note) };
  } finally {
    await store.close();
  }
}

async function verified(loc: Locations) {
  const gate = await openGate(loc, { home: '/home/test' });
  try {
    return await gate.verify();
  } finally {
    await gate.close();
  }
}

describe('store copy onto PostgreSQL', () => {
  it('copies every event byte for byte and every checkpoint, and the copy verifies', async () => {
    const source = await sqliteTrail(1300); // 2,600 events and more: three copy batches
    const target = pgLocations('copied');
    const r = await copyStore(source, target);
    const from = await trail(source);
    expect(r).toMatchObject({
      events: from.events.length,
      copied: from.events.length,
      keys: ['trusted-keys', 'gate.key'],
    });
    expect(from.events.length).toBeGreaterThan(2600);
    const to = await trail(target);
    expect(to.events.map((e) => [e.seq, e.bytes, e.leaf, e.chain])).toEqual(
      from.events.map((e) => [e.seq, e.bytes, e.leaf, e.chain]),
    );
    expect(to.notes).toEqual(from.notes);
    const v = await verified(target);
    expect(v).toMatchObject({ ok: true, events: from.events.length, commands: 1300 });
  }, 120_000);

  it('resumes: a rerun after more appends copies only the new events', async () => {
    const dir = tempDir();
    const source = await sqliteTrail(20, dir);
    const target = pgLocations('resumed');
    const first = await copyStore(source, target);
    await sqliteTrail(30, dir);
    const second = await copyStore(source, target);
    const all = (await trail(source)).events.length;
    expect(all).toBeGreaterThanOrEqual(first.events + 60);
    expect(second).toMatchObject({ events: all, copied: all - first.events });
    expect((await copyStore(source, target)).copied).toBe(0);
    expect(await verified(target)).toMatchObject({ ok: true, commands: 50 });
  }, 60_000);

  it('refuses a target holding another trail, and adds nothing to it', async () => {
    const target = pgLocations('other');
    await copyStore(await sqliteTrail(10), target);
    const before = (await trail(target)).events.length;
    await expect(copyStore(await sqliteTrail(15), target)).rejects.toThrow(/holds another trail/);
    expect((await trail(target)).events.length).toBe(before);
  }, 60_000);
});
