/**
 * Where the store, the policy and the policy cache are. Inputs are explicit (flags, the
 * environment, the working directory, the home directory) so the engine never reads process
 * state itself.
 *
 * The store is found the way Git finds its directory: `--store`, else POLICY_GATE_STORE, else
 * the nearest `.policy-gate/` directory in the working directory or above it (the directory
 * marks a project's store, whether or not audit.db exists in it yet), else the per-user default
 * `$HOME/.policy-gate/audit.db`. As GIT_CEILING_DIRECTORIES does for Git,
 * POLICY_GATE_CEILING_DIRECTORIES (absolute paths, `:`-separated) names directories the search
 * does not climb into: a shared /tmp, a mount of other people's projects.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GateError } from '../util/errors.js';
import { DEFAULT_STORE_DIR, discoverStore, stateDirectory, type FoundStore } from '../util/store-path.js';

export interface LocationInputs {
  readonly store?: string | undefined;
  readonly policy?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory, for the per-user default store; undefined when there is none. */
  readonly home?: string | undefined;
  /**
   * The user's id: a `.policy-gate/` found above the working directory that another user owns is
   * passed over, as Git passes over a repository of dubious ownership (anyone may create
   * /tmp/.policy-gate, and it must not collect the trail of every command run under /tmp).
   */
  readonly uid?: number | undefined;
}

export type { StoreSource } from '../util/store-path.js';
import type { StoreSource } from '../util/store-path.js';

export interface Locations {
  /** The SQLite file of the audit trail, or its PostgreSQL URL as it may be shown (no password). */
  readonly store: string;
  /** The PostgreSQL URL to connect with (password included); absent for a SQLite store. */
  readonly url?: string | undefined;
  /** How `store` was found (see describeStoreSource). */
  readonly storeSource: StoreSource;
  /** The policy directory (gate.yaml, rules/, whitelist/). */
  readonly policy: string;
  /**
   * The gate's state directory: the store's key, trusted keys, recordings, the failed-write
   * spool and the policy cache live here (next to a SQLite store, in the same trust domain; for
   * a PostgreSQL trail POLICY_GATE_STATE, else a directory of its own under ~/.policy-gate/).
   */
  readonly state: string;
  /** Where compiled policies are cached: in the state directory. */
  readonly cache: string;
  /** Paths an agent's command must never touch. */
  readonly protectedPaths: readonly string[];
  /** How long a write waits for the store's lock, in all (POLICY_GATE_LOCK_TIMEOUT seconds). */
  readonly lockTimeoutMs: number | undefined;
  /** The environment the locations were resolved in (witness commands run in it). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export { DEFAULT_STORE_DIR, DEFAULT_STORE_FILE } from '../util/store-path.js';

const require = createRequire(import.meta.url);

let shipped: string | null = null;

/** The policies/ directory shipped with the package. */
export function shippedPolicyDir(): string {
  if (shipped) return shipped;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'policies', 'gate.yaml')) && existsSync(join(dir, 'package.json'))) {
      shipped = join(dir, 'policies');
      return shipped;
    }
    dir = dirname(dir);
  }
  shipped = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');
  return shipped;
}

export function resolveLocations(inputs: LocationInputs): Locations {
  const policyFlag = inputs.policy ?? inputs.env.POLICY_GATE_POLICY;
  const policy = policyFlag && policyFlag !== '' ? resolve(inputs.cwd, policyFlag) : shippedPolicyDir();
  const found = findStore(inputs, policy);
  const { store, storeSource, url } = found;
  const state = stateDirectory(found, inputs);
  if (state === null)
    throw new GateError('store-unavailable', `audit store ${store}: no state directory for its key and spool`, {
      hint: 'the command must not run; set POLICY_GATE_STATE (or HOME)',
    });
  const cache = join(state, 'cache');
  const lockTimeout = inputs.env.POLICY_GATE_LOCK_TIMEOUT;
  const seconds = lockTimeout === undefined || lockTimeout === '' ? undefined : Number(lockTimeout);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= 0)) {
    throw new GateError(
      'usage',
      `POLICY_GATE_LOCK_TIMEOUT=${JSON.stringify(lockTimeout)}: expected seconds (a number ≥ 0)`,
    );
  }
  return {
    store,
    ...(url !== undefined ? { url } : {}),
    storeSource,
    policy,
    state,
    cache,
    protectedPaths: url === undefined ? [state, store, policy] : [state, policy],
    lockTimeoutMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
    env: inputs.env,
  };
}

/**
 * The store gate.yaml names (`store:`), when neither --store nor POLICY_GATE_STORE does: a team's
 * policy repository says where its trail is. Read only when the file has such a line, so that
 * every other start skips parsing YAML here.
 */
function policyStore(policyDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(policyDir, 'gate.yaml'), 'utf8');
  } catch {
    return undefined; // no gate.yaml: loading the policy says so
  }
  if (!/^store\s*:/m.test(text)) return undefined;
  let value: unknown;
  try {
    value = (require('yaml') as typeof import('yaml')).parse(text)?.store;
  } catch {
    return undefined; // invalid YAML: loading the policy says where
  }
  // as gate.yaml's schema says, checked here because the store is found before the policy loads
  if (typeof value !== 'string' || !/^(postgres(ql)?:\/\/|sqlite:)./i.test(value))
    throw new GateError('usage', `${join(policyDir, 'gate.yaml')}: store: expected postgres://… or sqlite:PATH`);
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(value))
    throw new GateError(
      'usage',
      `${join(policyDir, 'gate.yaml')}: store: a URL with a password (use PGPASSWORD or ~/.pgpass)`,
    );
  return value;
}

function findStore(inputs: LocationInputs, policyDir: string): FoundStore {
  const named = (inputs.store ?? '') !== '' || (inputs.env.POLICY_GATE_STORE ?? '') !== '';
  const fromPolicy = named ? undefined : policyStore(policyDir);
  if (fromPolicy !== undefined) {
    const found = discoverStore({ ...inputs, cwd: policyDir, store: fromPolicy });
    if (found) return { ...found, storeSource: 'policy' };
  }
  const found = discoverStore(inputs);
  // no home, nothing found: there is no store to name, and guessing one (the working directory)
  // would scatter trails wherever the gate happens to run
  if (found === null)
    throw new GateError(
      'store-unavailable',
      `no audit store: no ${DEFAULT_STORE_DIR}/ in ${resolve(inputs.cwd)} or above it, and no home directory for the per-user default`,
      { hint: 'the command must not run; pass --store PATH or POLICY_GATE_STORE, or set HOME' },
    );
  return found;
}

/** How the store was found, for errors and `doctor`: "--store", "POLICY_GATE_STORE", … */
export function describeStoreSource(loc: Pick<Locations, 'store' | 'storeSource'>): string {
  switch (loc.storeSource) {
    case 'flag':
      return '--store';
    case 'env':
      return 'POLICY_GATE_STORE';
    case 'policy':
      return "store: in the policy's gate.yaml";
    case 'discovered':
      return `the nearest ${DEFAULT_STORE_DIR}/ in the working directory or above`;
    case 'user-default':
      return `the per-user default: no other ${DEFAULT_STORE_DIR}/ in the working directory or above`;
  }
}
