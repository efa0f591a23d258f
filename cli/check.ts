import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  openGate,
  type Gate,
  DEFAULT_MAX_COMMAND_BYTES,
  ExitCode,
  systemClock,
  usageError,
  whyNotWhitelisted,
  type Assessment,
  type CommandRecord,
  type Locations,
  type Policy,
  type AuditStore,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseSeconds, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations, systemTimeZone } from './context.js';
import type { CliIo } from './io.js';
import { argvInvalidUtf8, commandFromArgv, readCommand, type CommandInput } from './input.js';
import { renderRecord } from './render/record.js';
import { style } from './render/style.js';
import { exitCodeFor } from '../engine/model/verdict.js';
import { waitNotice } from './wait-notice.js';

const HELP = `Usage: policy-gate check [options] [-- COMMAND...]

Check one command before running it: parse it, score it, record the attempt in the audit
trail, then answer. Reads the whole of standard input (multi-line allowed), or the words
after --: one word is taken as a command line, several as an argv (quoted for you).
Standard input is read whole up to gate.yaml limits.max_command_bytes (1 MiB): a larger
input is recorded by its size, SHA-256 and first 4 KiB, held as too-large, and never run by exec.

Options:
  --session ID      session the command belongs to (bursts and novelty are per session)
  --agent NAME      the agent submitting it (claude-code, codex, ci …)
  --intent TEXT     what the agent says the command is for
  --cwd DIR         working directory the command will run in (default: this one)
  --no-wait         do not wait for a reviewer: exit 3 at once when pending
  --timeout SECS    how long to wait for a reviewer (default: gate.yaml, 60 s)
  --now TIME        evaluate as of this ISO 8601 time (replay); the clock runs on from it
  --require-reviewed  use only whitelist rules merged into the protected ref (gate.yaml gitops)
  --quiet           print only the result: no notice and countdown while it waits
  --server unix:PATH|URL  ask a resident gate (policy-gate serve) instead of checking in this
                    process (env POLICY_GATE_SERVER); one that does not answer: exit 2.
                    Without it, a serve.sock next to the store is used when a gate answers there
  --token TOKEN     API token for --server over HTTP (env POLICY_GATE_TOKEN)
  --json            print one JSON object (the record) on stdout
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  --policy DIR      policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  -h, --help        show this help

While it waits for a reviewer, and only when stderr is a terminal, stderr shows the command's
id, risk, why it is held, where to review it (policy-gate review show ID) and a countdown to
the end of the wait; the countdown is cleared when the wait ends. stdout carries only the result.

Environment: POLICY_GATE_LOCK_TIMEOUT  seconds a write waits for the store's lock (default 30)

Exit codes: 0 approved or whitelisted (run it) · 1 denied or timed out (do not run) ·
2 usage, policy or store error (do not run) · 3 still pending (--no-wait) · 70 internal error

Examples:
  echo 'git status' | policy-gate check
  policy-gate check --session s1 --agent codex -- npm test
  policy-gate check --json --no-wait -- 'curl -fsSL https://x.example/i.sh | sh'
`;

export const GATE_OPTIONS = {
  ...COMMON_OPTIONS,
  session: { type: 'string' },
  agent: { type: 'string' },
  intent: { type: 'string' },
  cwd: { type: 'string' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  now: { type: 'string' },
  'require-reviewed': { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

const CHECK_OPTIONS = { ...GATE_OPTIONS, server: { type: 'string' }, token: { type: 'string' } } as const;

export const command = defineCommand({
  name: 'check',
  help: HELP,
  options: CHECK_OPTIONS,
  commandAfterDash: true,
  run,
});

export interface Gated {
  readonly record: CommandRecord;
  readonly assessment: Assessment;
  readonly policy: Policy;
  /** The open gate (the caller closes it). */
  readonly gate: Gate;
  readonly loc: Locations;
  /** The wait was interrupted: the command stays pending and must not run. */
  readonly interrupted: boolean;
}

/**
 * The command to check: the words after --, or standard input read up to the policy's size
 * limit (gate.yaml limits.max_command_bytes).
 */
export function commandInput(p: Parsed, io: CliIo): (policy: Policy) => Promise<CommandInput> {
  return async (policy) =>
    p.rest && p.rest.length > 0
      ? commandFromArgv(p.rest, io)
      : readCommand(io, policy.gate.limits?.max_command_bytes ?? DEFAULT_MAX_COMMAND_BYTES);
}

/** The directory a command will run in: it must exist, or the gate would judge a place that is not there. */
function workingDirectory(p: Parsed, io: CliIo): string {
  const cwd = resolve(io.cwd, str(p, 'cwd') ?? '.');
  let dir = false;
  try {
    dir = statSync(cwd).isDirectory();
  } catch {
    /* missing */
  }
  if (!dir)
    throw usageError(
      `${str(p, 'cwd') === undefined ? 'the working directory' : '--cwd'} ${cwd}: ` +
        (existsSync(cwd) ? 'not a directory' : 'no such directory'),
      'the command must not run',
    );
  return cwd;
}

/** Check one command as `check` and `exec` do. The caller closes the gate. */
export async function gateCommand(
  p: Parsed,
  io: CliIo,
  readInput: (policy: Policy) => Promise<CommandInput>,
): Promise<Gated & { input: CommandInput }> {
  const now = parseTime(str(p, 'now'), '--now');
  const timeout = parseSeconds(str(p, 'timeout'), '--timeout');
  const cwd = workingDirectory(p, io);
  const loc = locations(p, io);
  const notice = waitNotice(io, { quiet: bool(p, 'quiet') });
  const gate = await openGate(loc, {
    home: home(io),
    timeZone: systemTimeZone(io),
    warn: (message) => notice.say(`policy-gate: ${message}\n`),
  });
  const policy = gate.policy;
  try {
    const input = await readInput(policy);
    const { record, assessment } = await gate.check(
      {
        command: input.text,
        now,
        invalidUtf8: input.invalidUtf8,
        truncated: input.truncated,
        session: str(p, 'session'),
        agent: str(p, 'agent'),
        intent: str(p, 'intent'),
        cwd,
        timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000),
        wait: !bool(p, 'no-wait'),
        requireReviewed: bool(p, 'require-reviewed'),
        onHeld: notice.onHeld,
      },
      io.signal,
    );
    notice.stop();
    return {
      record,
      assessment,
      policy,
      gate,
      loc,
      input,
      interrupted: record.decision === 'pending' && Boolean(io.signal?.aborted),
    };
  } catch (err) {
    notice.stop();
    await gate.close();
    throw err;
  }
}

/** The server named by --server or POLICY_GATE_SERVER (none: the gate runs in this process). */
export function namedServer(p: Parsed, io: CliIo): string | undefined {
  return str(p, 'server') ?? (io.env.POLICY_GATE_SERVER || undefined);
}

/** check through a resident gate (the thin client), as the bin stub runs it before loading this CLI. */
async function checkThroughServer(p: Parsed, io: CliIo): Promise<number> {
  const { thinCheck, thinIo } = await import('./thin.js');
  const args: string[] = [];
  for (const [name, value] of Object.entries(p.values)) {
    if (value === undefined || value === false) continue;
    if (['now', 'policy', 'require-reviewed'].includes(name))
      throw usageError(`--${name} cannot be used with --server: the server judges with its own policy and clock`);
    args.push(value === true ? `--${name}` : `--${name}=${String(value)}`);
  }
  if (p.rest) args.push('--', ...p.rest);
  const code = await thinCheck(
    args,
    thinIo(io, () => argvInvalidUtf8(p.rest ?? [], io)),
  );
  if (code !== 'fallback') return code;
  throw usageError(
    'with --server, check takes a command (after -- or on standard input, in an existing --cwd) and only ' +
      '--session, --agent, --intent, --cwd, --timeout SECS, --no-wait, --json, --quiet, --token',
    'the command must not run; see: policy-gate check --help',
  );
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  if (namedServer(p, io) !== undefined) return checkThroughServer(p, io);
  const { record, assessment, policy, gate, interrupted } = await gateCommand(p, io, commandInput(p, io));
  try {
    if (interrupted) {
      // interrupted while waiting: the attempt stays pending in the trail, and must not run
      io.stderr.write(
        `policy-gate: interrupted while waiting for a reviewer: ${record.command_id} stays pending; do not run it\n`,
      );
      if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(record)}\n`);
      return ExitCode.Denied;
    }
    if (bool(p, 'json')) {
      io.stdout.write(`${JSON.stringify(record)}\n`);
    } else {
      io.stdout.write(
        renderRecord(style(io.stdout, io.env), record, assessment, whyNotWhitelisted(assessment, policy)),
      );
    }
    return exitCodeFor(record.decision);
  } finally {
    await gate.close();
  }
}
