import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  BUNDLE_FORMAT,
  ExitCode,
  exportBundle,
  exportTrail,
  openStoreForReading,
  requireStore,
  escapeForDisplay,
  trustedKeys,
  usageError,
  type Bundle,
  type CommandRecord,
  type CommandState,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStore, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { auditEntry } from './render/record.js';
import { style } from './render/style.js';
import { COMMAND_STATES } from '../engine/model/verdict.js';

const HELP = `Usage: policy-gate audit [options]
       policy-gate audit export --format jsonl|csv [--from TIME] [--to TIME] [--out FILE]
       policy-gate audit export --bundle FILE

List recorded commands, newest last: when, the decision, who or what decided, the risk and
the command (control characters escaped).

Options:
  --session ID      only this session
  --decision D      only approved | denied | whitelisted | timed_out | pending
  --since TIME      only commands submitted at or after this ISO 8601 time
  --limit N         only the newest N
  --json            print one JSON array of records on stdout
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  -h, --help        show this help

export:
  --format jsonl    one line per event, in order: seq, type, command_id, at, leaf, chain and
                    the body (the exact stored bytes are in the bundle)
  --format csv      one row per command: submission, risk, decision, who, latency, policy
                    revision, run and recording hash (RFC 4180; a cell a spreadsheet would
                    run as a formula is prefixed with ')
  --from/--to TIME  only events (jsonl) or commands (csv) at or after / before these times
  --out FILE        write there instead of stdout
  --bundle FILE     an evidence bundle: every event's exact bytes and hashes, the signed
                    checkpoints (a new one first, covering every event), the pinned keys, the reviewers and whitelist rule ids of each
                    policy revision, and the recordings; \`policy-gate verify --bundle FILE\`
                    checks it on another machine without the store

Exit codes: 0 listed or exported (also when empty) · 2 usage error or unreadable store · 70 internal error
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  format: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  bundle: { type: 'string' },
  session: { type: 'string' },
  decision: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
} as const;

export const command = defineCommand({
  name: 'audit',
  help: HELP,
  options: OPTIONS,
  default: { run: list },
  subcommands: { export: { run: exportCommand } },
});

async function list(p: Parsed, io: CliIo): Promise<number> {
  const decision = str(p, 'decision');
  if (decision !== undefined && !COMMAND_STATES.includes(decision as CommandState)) {
    throw usageError(`--decision must be one of ${COMMAND_STATES.join(', ')}; got ${JSON.stringify(decision)}`);
  }
  const since = parseTime(str(p, 'since'), '--since');
  const limitText = str(p, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw usageError(`--limit expects a whole number, got ${JSON.stringify(limitText)}`);
  const store = await openStoreForReading(locations(p, io));
  let records: CommandRecord[];
  try {
    records = await store.commands({
      session: str(p, 'session'),
      decision: decision as CommandState | undefined,
      since: since?.toISOString(),
      limit,
    });
  } finally {
    await store.close();
  }
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify(records)}\n`);
    return ExitCode.Allowed;
  }
  const s = style(io.stdout, io.env);
  if (records.length === 0) {
    io.stdout.write(s.dim('no recorded commands\n'));
    return ExitCode.Allowed;
  }
  for (const r of records) io.stdout.write(auditEntry(s, r));
  return ExitCode.Allowed;
}

async function exportCommand(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  const bundleFile = str(p, 'bundle');
  const format = str(p, 'format');
  if (bundleFile === undefined && format !== 'jsonl' && format !== 'csv')
    throw usageError('audit export needs --format jsonl|csv, or --bundle FILE', 'see: policy-gate audit --help');
  if (
    bundleFile !== undefined &&
    (format !== undefined || str(p, 'from') !== undefined || str(p, 'to') !== undefined)
  ) {
    throw usageError(
      'a bundle is the whole trail (a chain verifies from its first event): no --format, --from or --to',
    );
  }
  const from = parseTime(str(p, 'from'), '--from')?.toISOString();
  const to = parseTime(str(p, 'to'), '--to')?.toISOString();
  // exporting never creates a store; checked before the policy's cache is written next to it
  requireStore(loc);
  if (bundleFile !== undefined) {
    // a bundle ends with a checkpoint that covers all of it
    const writer = await openStore(loc, {
      policy: await policyFor(loc),
      warn: (message) => io.stderr.write(`policy-gate: ${message}\n`),
      create: false,
    });
    try {
      await writer.checkpoint(new Date());
    } finally {
      await writer.close();
    }
  }
  const store = await openStoreForReading(loc);
  try {
    let text: string;
    if (bundleFile !== undefined) {
      const bundle = await exportBundle(store, loc.policy, loc.state);
      text = `${JSON.stringify(bundle)}\n`;
      writeOut(io, bundleFile, text);
      io.stderr.write(
        `policy-gate: bundle of ${bundle.events.length} events and ${bundle.checkpoints.length} checkpoints ` +
          `written to ${bundleFile}\n`,
      );
      return ExitCode.Allowed;
    }
    text = await exportTrail(store, { format: format as 'jsonl' | 'csv', from, to });
    writeOut(io, str(p, 'out'), text);
    return ExitCode.Allowed;
  } finally {
    await store.close();
  }
}

function writeOut(io: CliIo, file: string | undefined, text: string): void {
  if (file === undefined || file === '-') {
    io.stdout.write(text);
    return;
  }
  try {
    writeFileSync(isAbsolute(file) ? file : join(io.cwd, file), text, { mode: 0o600 });
  } catch (err) {
    throw usageError(`cannot write ${file}: ${(err as Error).message}`);
  }
}
