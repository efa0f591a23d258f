/**
 * Opening a gate from its locations: the policy (compiled once and cached in the state
 * directory), the store for writing (signing a checkpoint after every decision, handing each to
 * the policy's witnesses, timing out what nobody decided) or for reading. Every front end (CLI,
 * hooks, a server) opens the gate through here.
 */
import { existsSync } from 'node:fs';
import { openSqliteStore } from '../audit/sqlite/backend.js';
import type { AuditStore } from '../audit/store.js';
import { gateSigner } from '../audit/checkpoint.js';
import { GateError } from '../util/errors.js';
import { makeDirectories } from '../util/fs.js';
import { VERSION } from '../util/version.js';
import { expireOverdue } from './check.js';
import { systemClock } from './clock.js';
import { osIdentity } from './identity.js';
import { loadPolicy, type LoadOptions } from './load-policy.js';
import type { Policy } from './policy.js';
import { describeStoreSource, type Locations } from './locations.js';
import { witnessHook } from './witness.js';

/** The policy at `loc.policy`, compiled once per revision (cached in the state directory). */
export async function loadGatePolicy(loc: Locations, options: Pick<LoadOptions, 'examples'> = {}): Promise<Policy> {
  return loadPolicy(loc.policy, { cacheDir: loc.cache, ...options });
}

export interface StoreOptions {
  /** The policy whose gate.yaml names the witnesses every new checkpoint is appended to. */
  readonly policy?: Policy | null;
  /** Told when a witness could not take a checkpoint (the write stands; it is recorded). */
  readonly warn?: (message: string) => void;
  /**
   * Create the store (its directory, file and the gate's key) when there is none: true for what
   * records submissions (check, exec); false for what only works on a trail that exists (review,
   * audit export, wait), which then fails with storeNotFound and leaves nothing behind.
   */
  readonly create?: boolean;
}

/** The error of a command that needs an existing store when there is none where it looked. */
export function storeNotFound(loc: Pick<Locations, 'store' | 'storeSource'>): GateError {
  return new GateError('not-found', `no audit store at ${loc.store} (found via ${describeStoreSource(loc)})`, {
    hint:
      'a store is created by the first `policy-gate check`; to read another, pass --store PATH or POLICY_GATE_STORE ' +
      '(or run from the project whose .policy-gate/ holds it)',
  });
}

/**
 * Throws storeNotFound unless the store exists; creates nothing. A PostgreSQL trail is checked
 * when it is opened (reachable, its schema migrated).
 */
export function requireStore(loc: Pick<Locations, 'store' | 'storeSource' | 'url'>): void {
  if (loc.url === undefined && !existsSync(loc.store)) throw storeNotFound(loc);
}

/**
 * The store for writing, signing a checkpoint after every decision with the gate's key and
 * handing each one to the policy's witnesses. A new store begins with GATE_START (component
 * "store": which gate, where and as whom created it) and a checkpoint covering it, so that a
 * store without any checkpoint is one whose checkpoints were removed. Every submission ends in
 * a decision: those nobody decided in time are timed out here.
 */
export async function openStore(loc: Locations, options: StoreOptions = {}): Promise<AuditStore> {
  // before the key: a store that may not be created must not leave a key (or a directory) behind
  if (options.create === false) requireStore(loc);
  const fresh = loc.url !== undefined || !existsSync(loc.store);
  let store: AuditStore | null = null;
  const witness = witnessHook(
    options.policy?.gate.witnesses ?? [],
    { policyDir: loc.policy, env: loc.env },
    (name, why) => {
      options.warn?.(`the checkpoint could not be appended to witness ${name}: ${why} (recorded as WRITE_FAILED)`);
      store?.noteFailure('WITNESS', null, new Error(`${name}: ${why}`));
    },
  );
  if (loc.url !== undefined) {
    makeDirectories(loc.state);
    const { openPgStore } = await import('../audit/pg/backend.js');
    store = await openPgStore(loc.url, {
      signer: gateSigner(loc.state),
      witness,
      stateDir: loc.state,
      lockTimeoutMs: loc.lockTimeoutMs,
    });
  } else
    store = openSqliteStore(loc.store, {
      signer: gateSigner(loc.state),
      busyTimeoutMs: loc.lockTimeoutMs,
      witness,
      stateDir: loc.state,
    });
  try {
    // in one transaction: of the gates that find a new (or just migrated) trail at once, one begins it
    const trail = store;
    if (fresh && (await trail.eventCount()) === 0)
      await trail.atomically(async () => {
        if ((await trail.eventCount()) > 0) return;
        await recordGateEvent(trail, 'GATE_START', 'store');
        await trail.checkpoint(new Date());
      }, 'GATE_START');
    await expireOverdue(store, systemClock());
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** The store for reading, or null when there is none yet (a PostgreSQL trail is always there, or an error). */
export async function openStoreIfExists(loc: Locations): Promise<AuditStore | null> {
  if (loc.url !== undefined) return openStoreForReading(loc);
  return existsSync(loc.store) ? openSqliteStore(loc.store, { readonly: true, stateDir: loc.state }) : null;
}

/** The store for reading; storeNotFound when there is none. */
export async function openStoreForReading(loc: Locations): Promise<AuditStore> {
  requireStore(loc);
  if (loc.url !== undefined) {
    const { openPgStore } = await import('../audit/pg/backend.js');
    return openPgStore(loc.url, { readonly: true, stateDir: loc.state });
  }
  return openSqliteStore(loc.store, { readonly: true, stateDir: loc.state });
}

/** GATE_START / GATE_STOP of a gate component (the store's creation, the review queue …). */
export async function recordGateEvent(
  store: AuditStore,
  type: 'GATE_START' | 'GATE_STOP',
  component: string,
): Promise<void> {
  const me = osIdentity();
  await store.record({
    type,
    command_id: null,
    at: new Date().toISOString(),
    component,
    gate_version: VERSION,
    pid: process.pid,
    host: me.host,
    user: me.user,
  });
}
