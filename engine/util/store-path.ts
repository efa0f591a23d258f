/**
 * Where the store is, found the way Git finds its directory: `--store`, else POLICY_GATE_STORE,
 * else the nearest `.policy-gate/` directory (owned by this user) in the working directory or
 * above it, stopping below POLICY_GATE_CEILING_DIRECTORIES, else `$HOME/.policy-gate/audit.db`.
 * Node's fs and path only: the thin client finds a server's socket next to the store with it,
 * before anything else is loaded.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const DEFAULT_STORE_DIR = '.policy-gate';
export const DEFAULT_STORE_FILE = 'audit.db';

/** How the store was found: `--store`, POLICY_GATE_STORE, a `.policy-gate/` above, or the per-user default. */
export type StoreSource = 'flag' | 'env' | 'discovered' | 'user-default';

export interface StoreInputs {
  readonly store?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home?: string | undefined;
  /** A `.policy-gate/` another user owns is passed over (see LocationInputs.uid). */
  readonly uid?: number | undefined;
}

/** The store's path and how it was found; null when nothing names one and there is no home directory. */
export function discoverStore(inputs: StoreInputs): { store: string; storeSource: StoreSource } | null {
  const cwd = resolve(inputs.cwd);
  if (inputs.store) return { store: resolve(cwd, inputs.store), storeSource: 'flag' };
  const env = inputs.env.POLICY_GATE_STORE;
  if (env) return { store: resolve(cwd, env), storeSource: 'env' };
  const home = inputs.home ? resolve(cwd, inputs.home) : null;
  const userDir = home === null ? null : join(home, DEFAULT_STORE_DIR);
  const ceilings = new Set(
    (inputs.env.POLICY_GATE_CEILING_DIRECTORIES ?? '')
      .split(':')
      .filter((d) => isAbsolute(d))
      .map((d) => resolve(d)),
  );
  for (let dir = cwd; ; dir = dirname(dir)) {
    const marker = join(dir, DEFAULT_STORE_DIR);
    if (ownDirectory(marker, inputs.uid))
      return {
        store: join(marker, DEFAULT_STORE_FILE),
        storeSource: marker === userDir ? 'user-default' : 'discovered',
      };
    if (dirname(dir) === dir || ceilings.has(dirname(dir))) break;
  }
  return userDir === null ? null : { store: join(userDir, DEFAULT_STORE_FILE), storeSource: 'user-default' };
}

function ownDirectory(path: string, uid: number | undefined): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() && (uid === undefined || st.uid === uid);
  } catch {
    return false;
  }
}
