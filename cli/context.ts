/**
 * Shared by the subcommands: find and load the policy, open the store, from flags and the
 * environment (POLICY_GATE_STORE, POLICY_GATE_POLICY).
 */
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  VERSION,
  expireOverdue,
  gateSigner,
  systemClock,
  witnessHook,
  loadPolicy,
  osIdentity,
  projectRoot,
  repositoryIds,
  resolveLocations,
  SqliteAuditStore,
  type Locations,
  type LoadOptions,
  type Policy,
} from '../engine/index.js';
import { str, type Parsed } from './args.js';
import type { CliIo } from './io.js';

export function locations(p: Parsed, io: CliIo): Locations {
  return resolveLocations({ store: str(p, 'store'), policy: str(p, 'policy'), cwd: io.cwd, env: io.env });
}

export async function policyFor(loc: Locations, options: Pick<LoadOptions, 'examples'> = {}): Promise<Policy> {
  return loadPolicy(loc.policy, { cacheDir: loc.cache, ...options });
}

export interface StoreOptions {
  /** The policy whose gate.yaml names the witnesses every new checkpoint is appended to. */
  readonly policy?: Policy | null;
  /** Told when a witness could not take a checkpoint (the write stands; it is recorded). */
  readonly warn?: (message: string) => void;
}

/**
 * The store for writing, signing a checkpoint after every decision with the gate's key and
 * handing each one to the policy's witnesses. A new store begins with GATE_START (component
 * "store": which gate, where and as whom created it) and a checkpoint covering it, so that a
 * store without any checkpoint is one whose checkpoints were removed.
 */
export function openStore(loc: Locations, options: StoreOptions = {}): SqliteAuditStore {
  const fresh = !existsSync(loc.store);
  let store: SqliteAuditStore | null = null;
  const witness = witnessHook(
    options.policy?.gate.witnesses ?? [],
    { policyDir: loc.policy, env: loc.env },
    (name, why) => {
      options.warn?.(`the checkpoint could not be appended to witness ${name}: ${why} (recorded as WRITE_FAILED)`);
      store?.noteFailure('WITNESS', null, new Error(`${name}: ${why}`));
    },
  );
  store = SqliteAuditStore.open(loc.store, {
    signer: gateSigner(dirname(loc.store)),
    busyTimeoutMs: loc.lockTimeoutMs,
    witness,
  });
  if (fresh && store.eventCount() === 0) {
    recordGateEvent(store, 'GATE_START', 'store');
    store.checkpoint(new Date());
  }
  try {
    // every submission ends in a decision: those nobody decided in time are timed out now
    expireOverdue(store, systemClock());
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}

/** GATE_START / GATE_STOP of a gate component (the store's creation, the review queue …). */
export function recordGateEvent(store: SqliteAuditStore, type: 'GATE_START' | 'GATE_STOP', component: string): void {
  const me = osIdentity();
  store.record({
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

/** The store for reading, or null when there is none yet. */
export function openStoreIfExists(loc: Locations): SqliteAuditStore | null {
  return existsSync(loc.store) ? SqliteAuditStore.open(loc.store, { readonly: true }) : null;
}

/** The repository identifiers of `cwd`, looked up only when some whitelist rule is scoped by repo. */
export function scopedRepos(policy: Policy, cwd: string): string[] | undefined {
  return policy.whitelist.some((w) => w.definition.repos) ? repositoryIds(cwd) : undefined;
}

/** The project a command run in `cwd` works in (see projectRoot): rules judge paths outside it. */
export function projectOf(cwd: string, homeDir: string): string | null {
  return projectRoot(cwd, homeDir, existsSync);
}

export function home(io: CliIo): string {
  return io.env.HOME ?? homedir();
}
