/**
 * What the subcommands share: the locations from flags, the environment (POLICY_GATE_STORE,
 * POLICY_GATE_POLICY), the working and home directories, and the engine's gate-opening functions
 * under the names they use.
 */
import { readlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  loadGatePolicy,
  openStore,
  openStoreIfExists,
  projectOf,
  recordGateEvent,
  resolveLocations,
  scopedRepos,
  type Locations,
  type LoadOptions,
  type Policy,
} from '../engine/index.js';
import { str, type Parsed } from './args.js';
import type { CliIo } from './io.js';

export { openStore, openStoreIfExists, projectOf, recordGateEvent, scopedRepos };

export function locations(p: Parsed, io: CliIo): Locations {
  return resolveLocations({
    store: str(p, 'store'),
    policy: str(p, 'policy'),
    cwd: io.cwd,
    env: io.env,
    home: home(io),
    uid: process.getuid?.(),
  });
}

export async function policyFor(loc: Locations, options: Pick<LoadOptions, 'examples'> = {}): Promise<Policy> {
  return loadGatePolicy(loc, options);
}

/**
 * The system's time zone, as Node's clock reads it: TZ (a leading `:` allowed, as POSIX does;
 * empty is UTC), else the zone /etc/localtime links to, else what Intl says. Off-hours are judged
 * in it when gate.yaml names no zone; the engine checks the name (one it does not know is UTC, as
 * for Node). Intl is the last resort: it loads the time-zone database, which costs more than a check.
 */
export function systemTimeZone(io: CliIo): string | undefined {
  const tz = io.env.TZ?.replace(/^:/, '');
  if (tz !== undefined && !tz.startsWith('/')) return tz === '' ? 'UTC' : tz;
  const file = tz ?? '/etc/localtime';
  let target = file;
  try {
    target = readlinkSync(file);
  } catch {
    /* not a link: a copy of the zone file, or none */
  }
  return /zoneinfo\/(.+)$/.exec(target)?.[1] ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The user's home directory: HOME, else the account's (os.homedir() asks the system); undefined
 * when neither is known. It holds the per-user default store and is what `~` means in commands.
 */
export function home(io: CliIo): string | undefined {
  if (io.env.HOME) return io.env.HOME;
  try {
    return homedir() || undefined;
  } catch {
    return undefined; // an account without a home (a container's arbitrary uid)
  }
}
