/**
 * What the subcommands share: the locations from flags and the environment (POLICY_GATE_STORE,
 * POLICY_GATE_POLICY), and the engine's gate-opening functions under the names they use.
 */
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
  return resolveLocations({ store: str(p, 'store'), policy: str(p, 'policy'), cwd: io.cwd, env: io.env });
}

export async function policyFor(loc: Locations, options: Pick<LoadOptions, 'examples'> = {}): Promise<Policy> {
  return loadGatePolicy(loc, options);
}

export function home(io: CliIo): string {
  return io.env.HOME ?? homedir();
}
