/**
 * Administering a store (`policy-gate store …`): applying a PostgreSQL trail's schema
 * migrations explicitly, and copying a trail from one store to another byte for byte.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../audit/sqlite/backend.js';
import type { CopyResult } from '../audit/trail.js';
import { KEY_FILE, TRUSTED_KEYS_FILE } from '../audit/checkpoint.js';
import { GateError } from '../util/errors.js';
import { makeDirectories } from '../util/fs.js';
import type { Locations } from './locations.js';
import { openStore, openStoreForReading } from './open.js';

export interface MigrateResult {
  readonly backend: 'sqlite' | 'postgres';
  /** The schema version before and after (a SQLite store migrates itself when opened). */
  readonly from: number | null;
  readonly to: number | null;
}

/**
 * Create or upgrade the store's schema. Nothing is appended: the first gate to open the trail
 * begins it (GATE_START and a checkpoint, in one transaction), and `store copy` may fill it.
 * `grant` names the role the gate's replicas connect as (PostgreSQL only).
 */
export async function migrateStore(loc: Locations, grant?: string): Promise<MigrateResult> {
  if (loc.url === undefined) {
    if (grant !== undefined) throw new GateError('usage', '--grant applies to a PostgreSQL store only');
    await (await openStore(loc)).close();
    return { backend: 'sqlite', from: null, to: null };
  }
  const { migratePgStore } = await import('../audit/pg/backend.js');
  const { from, to } = await migratePgStore(loc.url, grant);
  return { backend: 'postgres', from, to };
}

/**
 * Copy the trail at `from` onto `to` (empty, or holding a prefix of it: an interrupted copy
 * resumes) with every event's bytes, leaf and chain value as stored and every checkpoint as
 * signed. The gate's key and its pinned verifier keys go along into `to`'s state directory when
 * it has none, so that checkpoints verify there and new ones are signed by the same key.
 */
export async function copyStore(
  from: Locations,
  to: Locations,
): Promise<CopyResult & { readonly keys: readonly string[] }> {
  if (from.store === to.store)
    throw new GateError('usage', `store copy: --from and --to are the same store (${from.store})`);
  const source = await openStoreForReading(from);
  try {
    const keys = carryKeys(from.state, to.state);
    let target;
    if (to.url !== undefined) {
      const pg = await import('../audit/pg/backend.js');
      await pg.migratePgStore(to.url); // the schema only (idempotent): a migrated, empty trail
      target = await pg.openPgStore(to.url, { stateDir: to.state });
    } else target = openSqliteStore(to.store, { stateDir: to.state });
    try {
      return { ...(await source.snapshot((reader) => target.copyFrom(reader))), keys };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** The gate's key and pinned keys, into a state directory that has none (the names of the files carried). */
function carryKeys(fromState: string, toState: string): string[] {
  const carried: string[] = [];
  makeDirectories(toState);
  const pinned = join(fromState, TRUSTED_KEYS_FILE);
  if (existsSync(pinned)) {
    const target = join(toState, TRUSTED_KEYS_FILE);
    const have = existsSync(target) ? readFileSync(target, 'utf8').split('\n').filter(Boolean) : [];
    const add = readFileSync(pinned, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !have.includes(line));
    if (add.length > 0) {
      writeFileSync(target, [...have, ...add].join('\n') + '\n', { mode: 0o644 });
      carried.push(TRUSTED_KEYS_FILE);
    }
  }
  const key = join(fromState, KEY_FILE);
  if (existsSync(key) && !existsSync(join(toState, KEY_FILE))) {
    copyFileSync(key, join(toState, KEY_FILE));
    carried.push(KEY_FILE);
  }
  return carried;
}
