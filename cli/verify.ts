import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { ExitCode, SqliteAuditStore, findRepository, loadPolicy, parseVerifierKey, trustedKeys, usageError, verifyTrail, type PolicyAt, type VerifierKey } from '../engine/index.js';
import { filesAtRef } from '../engine/whitelist/git.js';
import { parsePublicKey } from '../engine/gate/sshsig.js';
import { COMMON_OPTIONS, bool, parse, str } from './args.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render.js';

export const HELP = `Usage: policy-gate verify [--store PATH] [--against CHECKPOINT] [--trusted-keys FILE] [--json]

Verify the audit trail from its stored bytes, and stop at the first failure, naming the event:
  integrity    PRAGMA integrity_check
  structure    sequence numbers contiguous, bodies canonical JSON, columns matching bodies
  hash         every leaf and chain hash recomputed from the stored bytes
  checkpoint   every signed checkpoint is signed by a pinned key and matches the chain at its size
  against      the trail extends the checkpoint given with --against (kept elsewhere):
               truncation and rollback are caught even if re-signed with the gate's key
  lifecycle    one SUBMITTED per command, DECIDED names its SUBMITTED, a run only after
               approved or whitelisted, one run per decision
  chronology   submitted ≤ decided ≤ started ≤ ended; latency and durations consistent
  authority    reviewers' signatures verify, by the key reviewers.yaml gave them at that policy
               revision, with no self-approval; whitelist rules existed at that revision;
               timeout only with timed_out
  recording    every recording's SHA-256 matches the trail

Options:
  --against FILE      a checkpoint copied off this machine (policy-gate checkpoint export)
  --trusted-keys FILE verifier keys to trust, one per line (default: trusted-keys next to the store)
  --store PATH        audit store (default .policy-gate/audit.db; env POLICY_GATE_STORE)
  --policy DIR        the policy (reviewers.yaml, whitelist); in Git, each revision is read from
                      its commit (default: the shipped policies; env POLICY_GATE_POLICY)
  --json              print the result as one JSON object
  -h, --help          show this help

Exit codes: 0 the trail verifies · 4 it does not (the first failure is named) · 2 usage error or
unreadable store
`;

const OPTIONS = { ...COMMON_OPTIONS, against: { type: 'string' }, 'trusted-keys': { type: 'string' } } as const;

export async function run(args: string[], io: CliIo): Promise<number> {
  const p = parse('verify', args, OPTIONS);
  if (bool(p, 'help')) {
    io.stdout.write(HELP);
    return ExitCode.Allowed;
  }
  if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`, 'see: policy-gate verify --help');
  const loc = locations(p, io);
  const storeDir = dirname(loc.store);
  const keys = keysFrom(str(p, 'trusted-keys'), storeDir, io.cwd);
  const againstFile = str(p, 'against');
  let against: string | undefined;
  if (againstFile !== undefined) {
    try {
      against = readFileSync(isAbsolute(againstFile) ? againstFile : join(io.cwd, againstFile), 'utf8');
    } catch (err) {
      throw usageError(`cannot read --against ${againstFile}: ${(err as Error).message}`);
    }
  }
  const store = SqliteAuditStore.open(loc.store, { readonly: true });
  const tty = Boolean(io.stderr.isTTY) && !bool(p, 'json');
  try {
    const provider = await policyProvider(loc.policy);
    const policyAt = await provider(store.policyRevisions());
    const total = store.eventCount();
    // one read transaction: both passes see the same snapshot while agents keep writing
    const result = store.raw().transaction(() => verifyTrail({
      events: () => store.rawEvents(),
      total,
      checkpoints: store.checkpoints().map((c) => c.note),
      keys,
      against,
      policyAt,
      recording: (path) => {
        try {
          return readFileSync(join(storeDir, path));
        } catch {
          return null;
        }
      },
      integrity: () => String(store.raw().pragma('integrity_check', { simple: true })),
      progress: tty && total >= 20_000 ? (done, all) => io.stderr.write(`\r  verifying ${'█'.repeat(Math.round((done / all) * 30)).padEnd(30, '░')} ${Math.round((done / all) * 100)}%`) : undefined,
    }))();
    if (tty && total >= 20_000) io.stderr.write('\r\x1b[K');
    if (bool(p, 'json')) {
      io.stdout.write(`${JSON.stringify({ store: loc.store, ...result })}\n`);
    } else {
      const s = style(io.stdout, io.env);
      if (result.ok) {
        io.stdout.write(`${s.green(s.bold('VERIFIED'))}  ${result.events} events, ${result.commands} commands, ${result.checkpoints} signed checkpoints, ${result.recordings} recordings\n`);
        if (result.unsigned_tail > 0) io.stdout.write(s.dim(`  ${result.unsigned_tail} newest event(s) after the last checkpoint are hash-chained but not yet signed\n`));
        if (against === undefined) io.stdout.write(s.dim('  no --against: truncation re-signed with the gate key would go unnoticed; keep checkpoints elsewhere (policy-gate checkpoint export)\n'));
      } else {
        const f = result.failure!;
        io.stdout.write(`${s.red(s.bold('FAILED'))}  ${f.check}${f.seq !== null ? ` at event #${f.seq}` : ''}: ${f.message}\n`);
      }
      for (const w of result.warnings) io.stdout.write(s.dim(`  note: ${w}\n`));
    }
    return result.ok ? ExitCode.Allowed : ExitCode.Integrity;
  } finally {
    store.close();
  }
}

function keysFrom(file: string | undefined, storeDir: string, cwd: string): VerifierKey[] {
  if (file === undefined) return trustedKeys(storeDir);
  let text: string;
  try {
    text = readFileSync(isAbsolute(file) ? file : join(cwd, file), 'utf8');
  } catch (err) {
    throw usageError(`cannot read --trusted-keys ${file}: ${(err as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(parseVerifierKey);
}

/**
 * The policy at a revision: from Git when the policy is versioned and the revision is a commit,
 * else the current policy when the revision is its own; unknown otherwise.
 */
async function policyProvider(dir: string): Promise<(revisions: readonly string[]) => Promise<(revision: string) => PolicyAt | null>> {
  let current: { revision: string; content: string; at: PolicyAt } | null = null;
  try {
    const policy = await loadPolicy(dir, { git: true, examples: 'report' });
    current = {
      revision: policy.revision,
      content: policy.contentRevision,
      at: {
        reviewers: new Map(policy.source.reviewers.map((r) => [r.id, { fingerprint: parsePublicKey(r.key).fingerprint, agents: r.agents ?? [] }])),
        whitelist: new Set(policy.source.whitelist.map((w) => w.id)),
        source: `the policy in ${dir}`,
      },
    };
  } catch {
    current = null;
  }
  // the revisions recorded are few: read each one from Git once, up front
  const repo = findRepository(dir);
  return async (revisions) => {
    const known = new Map<string, PolicyAt | null>();
    for (const revision of revisions) {
      if (current && (revision === current.revision || revision === current.content)) {
        known.set(revision, current.at);
        continue;
      }
      const commit = /^[0-9a-f]{40}$/.exec(revision)?.[0];
      if (!repo || !commit) {
        known.set(revision, null);
        continue;
      }
      try {
        known.set(revision, await policyFromFiles(filesAtRef(repo, commit, relative(repo.root, dir)), `the policy at ${commit.slice(0, 12)}`));
      } catch {
        known.set(revision, null);
      }
    }
    return (revision: string) => known.get(revision) ?? null;
  };
}

async function policyFromFiles(files: { path: string; content: Buffer }[], source: string): Promise<PolicyAt> {
  const { parse: parseYaml } = await import('yaml');
  const reviewers = new Map<string, { fingerprint: string; agents: string[] }>();
  const whitelist = new Set<string>();
  const list = (text: string, key: string): Record<string, unknown>[] => {
    try {
      const doc = parseYaml(text) as Record<string, unknown> | null;
      const items = doc?.[key];
      return Array.isArray(items) ? (items.filter((x) => x && typeof x === 'object') as Record<string, unknown>[]) : [];
    } catch {
      return [];
    }
  };
  for (const f of files) {
    if (f.path === 'reviewers.yaml') {
      for (const r of list(f.content.toString('utf8'), 'reviewers')) {
        try {
          reviewers.set(String(r.id), { fingerprint: parsePublicKey(String(r.key)).fingerprint, agents: Array.isArray(r.agents) ? r.agents.map(String) : [] });
        } catch {
          /* an unusable key is no key */
        }
      }
    } else if (f.path.startsWith('whitelist/')) {
      for (const w of list(f.content.toString('utf8'), 'whitelist')) whitelist.add(String(w.id));
    }
  }
  return { reviewers, whitelist, source };
}
