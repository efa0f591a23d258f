/**
 * Where the store is, found the way Git finds its directory: `--store`, else POLICY_GATE_STORE,
 * else the nearest `.policy-gate/` directory (owned by this user) in the working directory or
 * above it, stopping below POLICY_GATE_CEILING_DIRECTORIES, else `$HOME/.policy-gate/audit.db`.
 *
 * A store named with a scheme is never a path: `sqlite:PATH` is the file PATH, `postgres://…` /
 * `postgresql://…` a PostgreSQL trail, any other `scheme://` an error (a path with `://` in it
 * would otherwise be a directory named `scheme:`). A PostgreSQL trail keeps the gate's local
 * state (its key, trusted keys, the failed-write spool, recordings, the policy cache, a server's
 * socket) in POLICY_GATE_STATE, else in a directory of its own under `$HOME/.policy-gate/`.
 *
 * Node's fs, path and crypto only: the thin client finds a server's socket with it, before
 * anything else is loaded.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GateError } from './errors.js';

export const DEFAULT_STORE_DIR = '.policy-gate';
export const DEFAULT_STORE_FILE = 'audit.db';

/**
 * How the store was found: `--store`, POLICY_GATE_STORE, gate.yaml's `store:`, a `.policy-gate/`
 * above, or the per-user default.
 */
export type StoreSource = 'flag' | 'env' | 'policy' | 'discovered' | 'user-default';

export interface StoreInputs {
  readonly store?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home?: string | undefined;
  /** A `.policy-gate/` another user owns is passed over (see LocationInputs.uid). */
  readonly uid?: number | undefined;
}

export interface FoundStore {
  /** The SQLite file, or a PostgreSQL URL as it may be shown (its password replaced by ***). */
  readonly store: string;
  readonly storeSource: StoreSource;
  /** The PostgreSQL URL to connect with (password included); absent for a SQLite store. */
  readonly url?: string;
}

/** `scheme://…`: a store named by URL. */
const STORE_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** A URL as it may be shown: without its password. */
export function withoutPassword(url: string): string {
  return url.replace(/^([^:]+:\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

/** The store's location and how it was found; null when nothing names one and there is no home directory. */
export function discoverStore(inputs: StoreInputs): FoundStore | null {
  const cwd = resolve(inputs.cwd);
  const flag = inputs.store !== undefined && inputs.store !== '';
  const named = flag ? inputs.store : inputs.env.POLICY_GATE_STORE;
  if (named !== undefined && named !== '') return namedStore(named, flag ? 'flag' : 'env', cwd);
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

function namedStore(named: string, source: 'flag' | 'env', cwd: string): FoundStore {
  const where = source === 'flag' ? '--store' : 'POLICY_GATE_STORE';
  const url = STORE_URL.exec(named);
  if (url) {
    const scheme = url[1]!.toLowerCase();
    const shown = withoutPassword(named);
    if (scheme === 'postgres' || scheme === 'postgresql') return { store: shown, storeSource: source, url: named };
    throw new GateError('usage', `${where} ${shown}: unknown store scheme "${scheme}:"`, {
      hint: 'the command must not run; a store is a file path, sqlite:PATH or postgres://…',
    });
  }
  if (/^sqlite:/i.test(named)) {
    const path = named.slice('sqlite:'.length);
    if (path === '') throw new GateError('usage', `${where} ${named}: sqlite: needs a path`);
    return { store: resolve(cwd, path), storeSource: source };
  }
  return { store: resolve(cwd, named), storeSource: source };
}

/**
 * The gate's state directory: next to a SQLite store (the same trust domain); for a PostgreSQL
 * trail POLICY_GATE_STATE, else `$HOME/.policy-gate/postgres-<host, port and database>/`
 * (one per trail, so two trails never share a spool). Null when there is neither.
 */
export function stateDirectory(found: FoundStore, inputs: Pick<StoreInputs, 'cwd' | 'env' | 'home'>): string | null {
  if (found.url === undefined) return dirname(found.store);
  const named = inputs.env.POLICY_GATE_STATE;
  if (named !== undefined && named !== '') return resolve(inputs.cwd, named);
  if (!inputs.home) return null;
  return join(resolve(inputs.cwd, inputs.home), DEFAULT_STORE_DIR, `postgres-${trailKey(found.url)}`);
}

/** Which trail a URL names (host, port, database, schema options), without user or password. */
function trailKey(url: string): string {
  let where = url;
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // a URL node cannot parse is refused when connecting; its key only has to be stable
  }
  return createHash('sha256').update(where).digest('hex').slice(0, 12);
}

function ownDirectory(path: string, uid: number | undefined): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() && (uid === undefined || st.uid === uid);
  } catch {
    return false;
  }
}
