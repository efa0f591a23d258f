import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  ExitCode,
  GateError,
  failedResult,
  isCorruption,
  openStoreForReading,
  verifyStore,
  type AuditStore,
  parseBundle,
  parseVerifierKey,
  readWitness,
  trustedKeys,
  usageError,
  verifyTrail,
  type Locations,
  type VerifierKey,
  type VerifyResult,
  type WitnessReading,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render/style.js';
import { renderVerify } from './render/verify.js';

const HELP = `Usage: policy-gate verify [--store PATH] [--against CHECKPOINT] [--trusted-keys FILE] [--json]
       policy-gate verify --bundle FILE [--against CHECKPOINT] [--trusted-keys FILE] [--json]

Verify the audit trail from its stored bytes, and stop at the first failure, naming the event:
  integrity    PRAGMA integrity_check over the whole file: a damaged page is named (exit 4)
  schema       the append-only triggers and one-per-command indexes are as the gate made them
  structure    sequence numbers contiguous, bodies canonical JSON, columns matching bodies
  hash         every leaf and chain hash recomputed from the stored bytes
  checkpoint   every signed checkpoint is signed by a pinned key and matches the chain at its size;
               with a pinned key, a trail without checkpoints or a decision not covered by one
               fails (the gate signs one with every decision and when it creates the store)
  witness      the trail extends every checkpoint each witness in gate.yaml holds (read back
               now): truncation and rewrites are caught without --against
  against      the trail extends the checkpoint given with --against (kept elsewhere):
               truncation and rollback are caught even if re-signed with the gate's key
  lifecycle    one SUBMITTED per command, DECIDED names its SUBMITTED, a run only after
               approved or whitelisted, one run per decision
  chronology   submitted ≤ decided ≤ started ≤ ended; latency and durations consistent
  authority    reviewers' signatures verify, by the key reviewers.yaml gave them at that policy
               revision, with no self-approval; whitelist rules existed at that revision;
               timeout only with timed_out
  recording    every recording's SHA-256 matches the trail

The chain and the checkpoints are checked first, over all events; then what the events say.

Options:
  --bundle FILE       verify an evidence bundle (policy-gate audit export --bundle) instead of a
                      store: no store, policy or Git needed. Its keys are the exporter's: pass
                      --trusted-keys with the gate key you pinned for real assurance
  --against FILE      a checkpoint copied off this machine (policy-gate checkpoint export)
  --trusted-keys FILE verifier keys to trust, one per line (default: trusted-keys next to the store)
  --no-witnesses      do not read the witnesses configured in gate.yaml (by default a witness
                      that cannot be read fails verification)
  --store STORE       audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                      default: gate.yaml store:, the nearest .policy-gate/ here or above,
                      else ~/.policy-gate/audit.db)
  --policy DIR        the policy (reviewers.yaml, whitelist); in Git, each revision is read from
                      its commit (default: the shipped policies; env POLICY_GATE_POLICY)
  --json              print the result as one JSON object
  -h, --help          show this help

Runs that started and have no recorded end are listed as a note (still running, killed, or an
end that could not be written: then a WRITE_FAILED event says so).

Exit codes: 0 the trail verifies · 4 it does not (the first failure is named; a corrupted store
file too) · 2 usage error or a store that cannot be opened
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  against: { type: 'string' },
  'trusted-keys': { type: 'string' },
  bundle: { type: 'string' },
  'no-witnesses': { type: 'boolean' },
} as const;

export const command = defineCommand({ name: 'verify', help: HELP, options: OPTIONS, run });

/**
 * What every witness configured in gate.yaml holds (read back now). A policy that cannot be
 * loaded is an error: which witnesses to check against would be unknown.
 */
async function configuredWitnesses(loc: Locations): Promise<WitnessReading[]> {
  const specs = (await policyFor(loc)).gate.witnesses ?? [];
  return specs.map((w) => readWitness(w, { policyDir: loc.policy, env: loc.env }));
}

function readText(file: string, cwd: string, flag: string): string {
  try {
    return readFileSync(isAbsolute(file) ? file : join(cwd, file), 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  const againstFile = str(p, 'against');
  const against = againstFile === undefined ? undefined : readText(againstFile, io.cwd, '--against');
  const tty = Boolean(io.stderr.isTTY) && !bool(p, 'json');
  const bundleFile = str(p, 'bundle');
  let where: string;
  let result!: VerifyResult;
  let witnessCount: number | null = null;
  let progressShown = false;
  const progress = (total: number) =>
    tty && total >= 20_000
      ? (done: number, all: number) => {
          progressShown = true;
          io.stderr.write(
            `\r  verifying ${'█'.repeat(Math.round((done / all) * 30)).padEnd(30, '░')} ${Math.round((done / all) * 100)}%`,
          );
        }
      : undefined;
  if (bundleFile !== undefined) {
    let parsed: ReturnType<typeof parseBundle>;
    try {
      parsed = parseBundle(readText(bundleFile, io.cwd, '--bundle'));
    } catch (err) {
      throw usageError(`--bundle ${bundleFile}: ${(err as Error).message}`);
    }
    const explicit = str(p, 'trusted-keys');
    const keys = explicit === undefined ? parsed.bundle.keys.map(parseVerifierKey) : keysFrom(explicit, '', io.cwd);
    where = bundleFile;
    result = await verifyTrail({
      events: () => parsed.events,
      total: parsed.events.length,
      checkpoints: parsed.bundle.checkpoints,
      keys,
      against,
      policyAt: parsed.policyAt,
      recording: parsed.recording,
      progress: progress(parsed.events.length),
    });
  } else {
    const loc = locations(p, io);
    const storeDir = loc.state;
    const keys = keysFrom(str(p, 'trusted-keys'), storeDir, io.cwd);
    where = loc.store;
    witnessCount = 0;
    let store: AuditStore | null = null;
    try {
      store = await openStoreForReading(loc);
    } catch (err) {
      // a file SQLite cannot read as a database is a trail that fails verification, not a usage error
      if (!(err instanceof GateError && err.code === 'store-corrupt')) throw err;
      result = failedResult('integrity', err.message);
    }
    if (store) {
      try {
        const witnesses = bool(p, 'no-witnesses') ? [] : await configuredWitnesses(loc);
        witnessCount = witnesses.length;
        result = await verifyStore(store, loc.policy, { keys, against, witnesses, progress, stateDir: loc.state });
      } catch (err) {
        if (!isCorruption(err)) throw err;
        result = failedResult('integrity', `the store is corrupted: ${(err as Error).message}`);
      } finally {
        await store.close();
      }
    }
  }
  if (progressShown) io.stderr.write('\r\x1b[K');
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ [bundleFile !== undefined ? 'bundle' : 'store']: where, ...result })}\n`);
  } else {
    const unanchored = against === undefined && witnessCount === 0;
    io.stdout.write(renderVerify(style(io.stdout, io.env), result, { unanchored }));
  }
  return result.ok ? ExitCode.Allowed : ExitCode.Integrity;
}

function keysFrom(file: string | undefined, storeDir: string, cwd: string): VerifierKey[] {
  if (file === undefined) return trustedKeys(storeDir);
  return readText(file, cwd, '--trusted-keys')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(parseVerifierKey);
}
