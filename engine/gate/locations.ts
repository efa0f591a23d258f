/**
 * Where the store, the policy and the policy cache are. Inputs are explicit (flags, the
 * environment, the working directory) so the engine never reads process state itself.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GateError } from '../util/errors.js';

export interface LocationInputs {
  readonly store?: string | undefined;
  readonly policy?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Locations {
  /** The SQLite file of the audit trail. */
  readonly store: string;
  /** The policy directory (gate.yaml, rules/, whitelist/). */
  readonly policy: string;
  /**
   * The gate's state directory: the store's key, trusted keys, recordings, the failed-write
   * spool and the policy cache live here (next to a SQLite store, in the same trust domain).
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

export const DEFAULT_STORE_DIR = '.policy-gate';
export const DEFAULT_STORE_FILE = 'audit.db';

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
  const storeFlag = inputs.store ?? inputs.env.POLICY_GATE_STORE;
  const policyFlag = inputs.policy ?? inputs.env.POLICY_GATE_POLICY;
  const store = resolve(
    inputs.cwd,
    storeFlag && storeFlag !== '' ? storeFlag : join(DEFAULT_STORE_DIR, DEFAULT_STORE_FILE),
  );
  const policy = policyFlag && policyFlag !== '' ? resolve(inputs.cwd, policyFlag) : shippedPolicyDir();
  const state = dirname(store);
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
    policy,
    state,
    cache,
    protectedPaths: [state, store, policy],
    lockTimeoutMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
    env: inputs.env,
  };
}
