import { readFileSync } from 'node:fs';
import {
  ExitCode,
  applyDecision,
  escapeForDisplay,
  osIdentity,
  pendingQueue,
  reviewStatement,
  requireStore,
  reviewView,
  signAndApply,
  submittedEvent,
  systemClock,
  usageError,
  type ReviewView,
  type CommandRecord,
  type Policy,
  type ReviewOutcome,
  type AuditStore,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStore } from './context.js';
import { readAll, type CliIo } from './io.js';
import { queueItemJson } from './render/json.js';
import { queueLine, describeOutcome, renderReview } from './render/record.js';
import { style } from './render/style.js';
import { openForReview, signer } from './review-common.js';

const HELP = `Usage: policy-gate review [options]                       interactive queue (a terminal)
       policy-gate review list [--all] [--json]
       policy-gate review show ID [--json]
       policy-gate review approve ID --reviewer ID --key FILE [--reason TEXT] [--json]
       policy-gate review deny ID --reviewer ID --key FILE --reason TEXT [--json]
       policy-gate review statement ID approve|deny --reviewer ID [--reason TEXT]
       policy-gate review submit FILE|-  [--json]

Decide the commands that wait for a human. Every decision is signed with the reviewer's
OpenSSH ed25519 key (ssh-keygen -Y sign -n policy-gate) and verified against
reviewers.yaml in the policy before it counts; unsigned decisions, unknown keys, bad
signatures and self-approvals are refused, and the refused attempt is recorded.

  (no subcommand)  the live queue: highest risk first; j/k or arrows move, a approves,
                   d denies (a reason is asked), r refreshes, q quits
  list             pending commands: risk, time left, approvals so far, the command
  show ID          one command in full: hits with their spans, segments, the session's
                   earlier commands and decisions, time left
  approve ID       approve (with the two-person rule, counts one approval)
  deny ID          deny (one deny is enough; a reason is required)
  statement ID D   print the exact statement to sign, to sign it elsewhere
  submit FILE      apply a decision signed elsewhere: {"command_id","statement","signature"}

Options:
  --reviewer ID     your id in reviewers.yaml (env POLICY_GATE_REVIEWER)
  --key FILE        your ed25519 private key, or its .pub when the key is in ssh-agent
                    (env POLICY_GATE_KEY)
  --reason TEXT     why; recorded and signed with the decision
  --all             list: include commands past their deadline that nobody timed out
  --json            print JSON on stdout
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  --policy DIR      policy directory, with reviewers.yaml (env POLICY_GATE_POLICY)
  -h, --help        show this help

Exit codes: 0 done (decision recorded, approval counted, listed) · 1 refused (the attempt is
recorded; the reason is on stderr) · 2 usage error, unknown command id, unreadable store

Examples:
  policy-gate review list
  policy-gate review approve 01JD… --reviewer alice --key ~/.ssh/id_ed25519 --reason 'expected migration'
  policy-gate review deny 01JD… --reviewer alice --key ~/.ssh/id_ed25519 --reason 'touches prod'
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  reviewer: { type: 'string' },
  key: { type: 'string' },
  reason: { type: 'string' },
  all: { type: 'boolean' },
} as const;

export const command = defineCommand({
  name: 'review',
  help: HELP,
  options: OPTIONS,
  default: { run: async (p, io) => (await import('./review-tui.js')).runQueue(p, io) },
  subcommands: {
    list: { run: list },
    show: { operands: ['ID'], run: show },
    approve: { operands: ['ID'], run: (p, io) => decide(p, io, 'approve') },
    deny: { operands: ['ID'], run: (p, io) => decide(p, io, 'deny') },
    statement: { operands: ['ID', 'approve|deny'], run: statement },
    submit: { operands: ['FILE|-'], run: submit },
  },
});

export { reviewView, signAndApply };

export { signer } from './review-common.js';

async function list(p: Parsed, io: CliIo): Promise<number> {
  const { policy, store } = await openForReview(p, io);
  try {
    const now = new Date();
    const views = await Promise.all(
      (await pendingQueue(store, now, { all: bool(p, 'all') })).map((r) => reviewView(store, policy, r, now)),
    );
    if (bool(p, 'json')) {
      io.stdout.write(`${JSON.stringify(views.map(queueItemJson))}\n`);
      return ExitCode.Allowed;
    }
    const s = style(io.stdout, io.env);
    if (views.length === 0) {
      io.stdout.write(s.dim('nothing waits for review\n'));
      return ExitCode.Allowed;
    }
    for (const v of views) io.stdout.write(`${queueLine(s, v, 100)}\n`);
    return ExitCode.Allowed;
  } finally {
    await store.close();
  }
}

async function show(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const { policy, store } = await openForReview(p, io);
  try {
    await submittedEvent(store, id); // not-found error when it does not exist
    const view = await reviewView(store, policy, (await store.command(id))!, new Date());
    if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(view)}\n`);
    else io.stdout.write(renderReview(style(io.stdout, io.env), view));
    return ExitCode.Allowed;
  } finally {
    await store.close();
  }
}

async function decide(p: Parsed, io: CliIo, decision: 'approve' | 'deny'): Promise<number> {
  const id = p.positionals[0]!;
  const who = signer(p, io);
  const reason = str(p, 'reason') ?? null;
  if (decision === 'deny' && !reason)
    throw usageError('a deny needs --reason: the agent and the trail are told why', 'see: policy-gate review --help');
  const { policy, store } = await openForReview(p, io);
  try {
    if (!who.key)
      io.stderr.write(
        'policy-gate: no --key (or POLICY_GATE_KEY): the decision goes in unsigned and will be refused\n',
      );
    return report(io, p, await signAndApply(store, policy, id, decision, who, reason, io.env));
  } finally {
    await store.close();
  }
}

/** Print an outcome; the exit code says whether it took effect. */
export function report(io: CliIo, p: Parsed, outcome: ReviewOutcome): number {
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(outcome)}\n`);
  else io.stdout.write(`${describeOutcome(outcome)}\n`);
  if (outcome.kind === 'refused') {
    io.stderr.write(
      `policy-gate: refused (${outcome.code}): ${outcome.message}\n  the attempt is recorded in the audit trail\n`,
    );
    return ExitCode.Denied;
  }
  return ExitCode.Allowed;
}

async function statement(p: Parsed, io: CliIo): Promise<number> {
  const [id, decision] = p.positionals as [string, string];
  if (decision !== 'approve' && decision !== 'deny')
    throw usageError('expected: review statement ID approve|deny --reviewer ID', 'see: policy-gate review --help');
  const { reviewer } = signer(p, io);
  const loc = locations(p, io);
  requireStore(loc);
  const store = await openStore(loc, { create: false });
  try {
    io.stdout.write(
      await reviewStatement(store, {
        command_id: id,
        decision,
        reviewer,
        reason: str(p, 'reason') ?? null,
        signed_at: new Date().toISOString(),
      }),
    );
    return ExitCode.Allowed;
  } finally {
    await store.close();
  }
}

async function submit(p: Parsed, io: CliIo): Promise<number> {
  const file = p.positionals[0]!;
  let text: string;
  try {
    text = file === '-' ? (await readAll(io.stdin)).toString('utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: { command_id?: unknown; statement?: unknown; signature?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw usageError(`${file} is not JSON: expected {"command_id": …, "statement": …, "signature": …}`);
  }
  if (
    typeof doc.command_id !== 'string' ||
    typeof doc.statement !== 'string' ||
    (doc.signature !== null && doc.signature !== undefined && typeof doc.signature !== 'string')
  ) {
    throw usageError(`${file}: expected {"command_id": string, "statement": string, "signature": string}`);
  }
  const { policy, store } = await openForReview(p, io);
  try {
    const me = osIdentity();
    const outcome = await applyDecision(
      {
        command_id: doc.command_id,
        statement: doc.statement,
        signature: (doc.signature as string | undefined) ?? null,
        from: { user: me.user, host: me.host },
      },
      { policy, store, clock: systemClock() },
    );
    return report(io, p, outcome);
  } finally {
    await store.close();
  }
}
