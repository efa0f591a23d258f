/**
 * `policy-gate install|uninstall claude|codex|gemini [--project|--user]`: write (or remove) the
 * gate's hook in the agent's own settings, merged with what is there, after a backup.
 *
 * The hook command line is written so that it cannot fail open: the agent runs the command when
 * a hook exits with anything but an explicit block, so every exit other than 0 and the gate's
 * own 2 (a crash, 127 for a missing binary, a kill) is turned into 2, with a reason on stderr:
 *
 *   '/usr/bin/node' '/…/policy-gate.js' hook claude --store '/…/audit.db' --agent-timeout 77 \
 *     || { s=$?; [ "$s" -eq 2 ] || echo "policy-gate hook failed (exit $s): blocked" >&2; exit 2; }
 *
 * The binary and the store are absolute paths: the agent's PATH and working directory are not
 * the installer's. The agent's hook timeout is set above the gate's longest reviewer wait.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { shellQuote, shippedPolicyDir, usageError } from '../engine/index.js';
import { bool, COMMON_OPTIONS, parseSeconds, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations, policyFor } from './context.js';
import { agentNamed, type Agent } from './hooks/agents.js';
import { gateHooks, settingsPath, withGateHook, withoutGateHook, type Scope } from './hooks/settings.js';
import type { CliIo } from './io.js';
import { answerBudgetMs } from './hook.js';

const HELP = `Usage: policy-gate install claude|codex|gemini [--project | --user] [options]

Write the policy-gate hook into the agent's settings, merged with what is there (comments and
other hooks kept), after a backup of the previous file; print what changed. Run it again to
update the hook; \`policy-gate uninstall AGENT\` removes it.

  claude   Claude Code   .claude/settings.json    (--user: ~/.claude/settings.json)
           hooks.PreToolUse, matcher "Bash"
  codex    Codex         .codex/config.toml       (--user: $CODEX_HOME or ~/.codex/config.toml)
           [[hooks.PreToolUse]], matcher "^Bash$"; then trust the hook in Codex's /hooks
  gemini   Gemini CLI    .gemini/settings.json    (--user: ~/.gemini/settings.json)
           hooks.BeforeTool, matcher "^run_shell_command$" (timeout in milliseconds)

The hook runs this policy-gate by absolute path with the store pinned (--store), and turns
every unexpected exit (a crash, a missing binary) into a block. The agent's hook timeout is
set above the longest reviewer wait in gate.yaml, so a held command is denied as timed out
before the agent would give up on the hook (agents run the command when a hook times out).

Options:
  --project            this project's settings, in the current directory (default)
  --user               the user's settings (every project)
  --agent-timeout SECS the agent's hook timeout to write (default: the longest reviewer
                       timeout in gate.yaml plus a margin)
  --bin PATH           the policy-gate to run (default: this one, by absolute path)
  --dry-run            print the new settings; change nothing
  --store PATH         the audit store the hook records into (default: found as every
                       command finds it; env POLICY_GATE_STORE)
  --policy DIR         the policy the hook uses (default: the shipped policies; env
                       POLICY_GATE_POLICY)
  -h, --help           show this help

Exit codes: 0 written (or nothing to change) · 2 usage error, unreadable settings, invalid policy

Examples:
  policy-gate install claude
  policy-gate install gemini --user --store ~/.policy-gate/audit.db
  policy-gate doctor claude
`;

const OPTIONS = {
  store: COMMON_OPTIONS.store,
  policy: COMMON_OPTIONS.policy,
  project: { type: 'boolean' },
  user: { type: 'boolean' },
  'agent-timeout': { type: 'string' },
  bin: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

export const command = defineCommand({ name: 'install', help: HELP, options: OPTIONS, operands: ['AGENT'], run });

export function scopeOf(p: Parsed): Scope {
  if (bool(p, 'project') && bool(p, 'user')) throw usageError('--project and --user: choose one');
  return bool(p, 'user') ? 'user' : 'project';
}

/** The policy-gate this process is: node and the bundle's entry, by absolute path. */
export function thisProgram(): string[] {
  return [process.execPath, join(dirname(shippedPolicyDir()), 'dist', 'bin', 'policy-gate.js')];
}

/** The hook command line the agent runs: the gate, then every unexpected exit made a block. */
export function hookCommandLine(
  agent: Agent,
  program: readonly string[],
  options: { store: string; policy?: string | undefined; agentTimeoutSeconds: number },
): string {
  const words = [...program, 'hook', agent.name, '--store', options.store];
  if (options.policy !== undefined) words.push('--policy', options.policy);
  words.push('--agent-timeout', String(options.agentTimeoutSeconds));
  return (
    `${words.map(shellQuote).join(' ')} || { s=$?; [ "$s" -eq 2 ] || ` +
    `echo "policy-gate hook failed (exit $s): the command is blocked" >&2; exit 2; }`
  );
}

/** The agent hook timeout that leaves the gate time to answer after the longest reviewer wait. */
export function agentTimeoutFor(longestReviewerWaitSeconds: number): number {
  let t = longestReviewerWaitSeconds + 15;
  while (answerBudgetMs(t * 1000) < (longestReviewerWaitSeconds + 2) * 1000) t += 5;
  return Math.ceil(t);
}

export function longestReviewerWait(timeouts: Readonly<Record<string, number | undefined>>): number {
  return Math.max(...Object.values(timeouts).filter((v): v is number => typeof v === 'number'));
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Write the file whole or not at all, keeping its mode; the previous one copied aside first. */
export function replaceFile(path: string, text: string, now: Date): string | null {
  let backup: string | null = null;
  let mode = 0o644;
  if (existsSync(path)) {
    mode = statSync(path).mode & 0o777;
    backup = `${path}.policy-gate-backup-${stamp(now)}`;
    for (let n = 1; existsSync(backup); n++) backup = `${path}.policy-gate-backup-${stamp(now)}-${n}`;
    copyFileSync(path, backup);
  } else {
    mkdirSync(dirname(path), { recursive: true });
  }
  const tmp = `${path}.policy-gate-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  return backup;
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  const agent = agentNamed(p.positionals[0]);
  const scope = scopeOf(p);
  const path = settingsPath(agent, scope, { cwd: io.cwd, home: home(io), env: io.env });
  const loc = locations(p, io);
  // an invalid policy fails here, not in the agent's first command
  const policy = await policyFor(loc);
  const wait = longestReviewerWait(policy.gate.timeouts);
  const agentTimeout = parseSeconds(str(p, 'agent-timeout'), '--agent-timeout') ?? agentTimeoutFor(wait);
  if (answerBudgetMs(agentTimeout * 1000) < wait * 1000)
    io.stderr.write(
      `policy-gate: warning: with an agent timeout of ${agentTimeout} s the gate answers within ` +
        `${Math.floor(answerBudgetMs(agentTimeout * 1000) / 1000)} s, before the longest reviewer wait ` +
        `(${wait} s) ends: held commands will be denied early\n`,
    );
  const bin = str(p, 'bin');
  const program = bin !== undefined ? [bin] : thisProgram();
  const explicitPolicy = str(p, 'policy') ?? io.env.POLICY_GATE_POLICY;
  if (loc.url !== undefined && loc.url !== loc.store)
    throw usageError(
      `the store URL carries a password, which would be written into ${path}: ` +
        'give the agent PGPASSWORD or ~/.pgpass instead (or point its hook at a server with --server)',
    );
  const line = hookCommandLine(agent, program, {
    store: loc.url ?? loc.store,
    policy: explicitPolicy ? loc.policy : undefined,
    agentTimeoutSeconds: agentTimeout,
  });
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const previous = gateHooks(agent, path, before);
  const after = withGateHook(agent, path, before, { command: line, timeoutSeconds: agentTimeout });
  if (bool(p, 'dry-run')) {
    io.stdout.write(after);
    return 0;
  }
  const out: string[] = [];
  if (after === before) {
    out.push(`${agent.title}: the policy-gate hook in ${path} is already up to date`);
  } else {
    const backup = replaceFile(path, after, new Date());
    out.push(
      `${agent.title}: ${previous.length > 0 ? 'updated' : 'installed'} the policy-gate hook in ${path}`,
      backup ? `  previous file kept as ${backup}` : '  (a new file)',
    );
  }
  const unit = agent.timeoutUnit === 'milliseconds' ? `${agentTimeout * 1000} ms` : `${agentTimeout} s`;
  out.push(
    `  ${agent.event} matcher ${JSON.stringify(agent.matcher)}, timeout ${unit} ` +
      `(reviewers have up to ${wait} s; the hook answers within ${Math.floor(answerBudgetMs(agentTimeout * 1000) / 1000)} s)`,
    `  command: ${line}`,
    `  store:   ${loc.store}`,
    `  policy:  ${loc.policy}`,
  );
  if (agent.name === 'codex')
    out.push(
      'Next: open Codex, run /hooks and trust the policy-gate hook: Codex skips a new or changed hook until it is trusted.',
    );
  if (agent.name === 'gemini' && scope === 'project')
    out.push('Next: Gemini CLI runs project hooks only in a trusted folder: trust this folder when it asks.');
  out.push(`Check it: policy-gate doctor ${agent.name}${scope === 'user' ? ' --user' : ''}`);
  io.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
