/**
 * Dispatch and the one error handler. Subcommands load lazily, so `check` does not pay for
 * the modules of the others: the table below is light metadata, and each module exports its
 * descriptor (cli/command.ts), run by the shared runner. Errors become one clear line on
 * stderr (and a JSON document with --json); an unknown error is a bug: exit 70 with the
 * version.
 */
import { EXIT_CODE_TABLE } from '../engine/util/exit-codes.js';
import { ExitCode } from '../engine/util/exit-codes.js';
import { GateError, storeError } from '../engine/util/errors.js';
import { VERSION } from '../engine/util/version.js';
import { runCommand, type Command } from './command.js';
import type { CliIo } from './io.js';

/** A command as the dispatcher knows it: light metadata, and its module loaded when it runs. */
interface Entry {
  readonly name: string;
  /** Its line in `policy-gate --help`. */
  readonly summary: string;
  readonly load: () => Promise<{ readonly command: Command }>;
}

export const COMMANDS: readonly Entry[] = [
  {
    name: 'check',
    summary: 'check a command before running it, record it, answer (exit 0 = run it)',
    load: () => import('./check.js'),
  },
  { name: 'assess', summary: 'score a command without recording anything', load: () => import('./assess.js') },
  {
    name: 'exec',
    summary: 'check a command, then run it only if allowed, recording its output',
    load: () => import('./exec.js'),
  },
  {
    name: 'shell',
    summary: "a bash -c that gates every command: set policy-gate-shell as a tool's $SHELL",
    load: () => import('./shell.js'),
  },
  {
    name: 'wait',
    summary: 'wait again for the decision on a --no-wait submission; exits as check does',
    load: () => import('./wait.js'),
  },
  {
    name: 'status',
    summary: "a recorded command's state: pending (time left) or its decision",
    load: () => import('./status.js'),
  },
  {
    name: 'review',
    summary: 'decide pending commands: interactive queue, or list | show | approve | deny',
    load: () => import('./review.js'),
  },
  {
    name: 'session',
    summary: "session show: a session's timeline of commands, decisions and runs",
    load: () => import('./session.js'),
  },
  {
    name: 'play',
    summary: 'replay the recorded output of a command run through exec',
    load: () => import('./play.js'),
  },
  {
    name: 'verify',
    summary: 'verify the audit trail: hashes, signed checkpoints, lifecycle, signatures',
    load: () => import('./verify.js'),
  },
  {
    name: 'checkpoint',
    summary: 'checkpoint export: sign the chain now and copy the checkpoint off the machine',
    load: () => import('./checkpoint.js'),
  },
  {
    name: 'report',
    summary: 'evidence report (md or self-contained html) with the compliance mapping',
    load: () => import('./report.js'),
  },
  { name: 'audit', summary: 'list recorded commands and their decisions', load: () => import('./audit.js') },
  {
    name: 'policy',
    summary: 'policy test | lint | diff: check a policy and classify a change to it',
    load: () => import('./policy.js'),
  },
  {
    name: 'whitelist',
    summary: 'whitelist propose: write the rule for an approved command, for review',
    load: () => import('./whitelist.js'),
  },
  {
    name: 'store',
    summary: "store migrate: apply a PostgreSQL trail's schema · store copy: move a trail between stores",
    load: () => import('./store.js'),
  },
  {
    name: 'serve',
    summary: 'run the gate as a server: HTTP API, Unix socket, web review console (serve --demo to try it)',
    load: () => import('./serve.js'),
  },
  {
    name: 'hook',
    summary: "answer an agent's pre-tool hook (claude | codex | gemini): JSON payload in, the agent's answer out",
    load: () => import('./hook.js'),
  },
  {
    name: 'install',
    summary: "write policy-gate's hook into an agent's settings (claude | codex | gemini)",
    load: () => import('./install.js'),
  },
  {
    name: 'uninstall',
    summary: "remove policy-gate's hook from an agent's settings",
    load: () => import('./uninstall.js'),
  },
  {
    name: 'doctor',
    summary: 'check that the gate really stands in front of the agent: hooks, binary, timeouts, store, policy',
    load: () => import('./doctor.js'),
  },
  {
    name: 'init',
    summary: 'scaffold a policy repository: policies, CODEOWNERS, CI workflow',
    load: () => import('./init.js'),
  },
  {
    name: 'completion',
    summary: 'completion bash | zsh | fish: print a shell completion script',
    // given this table, which it completes from (importing it would tie the two modules together)
    load: () => import('./completion.js').then((m) => ({ command: m.completionCommand(COMMANDS) })),
  },
];

export const MAIN_HELP = `policy-gate ${VERSION} — a pre-execution gate for the shell commands of AI agents

Usage: policy-gate <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Every command accepts --help. Commands that use the store or the policy accept
--store PATH and --policy DIR (env POLICY_GATE_POLICY, default the policies shipped with
policy-gate). The store is found as Git finds its directory: --store, else POLICY_GATE_STORE,
else audit.db in the nearest .policy-gate/ directory in the working directory or above (mkdir
.policy-gate to give a project its own store), else the per-user ~/.policy-gate/audit.db.
Only check and exec create a store; commands that read one fail when there is none.

Exit codes:
${EXIT_CODE_TABLE.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n')}

Example:
  echo 'git status' | policy-gate check && git status
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  // shell's arguments are a command's, never policy-gate's flags
  const json = name !== 'shell' && (argv.includes('--json') || argv.includes('--jsonl'));
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = COMMANDS.find((c) => name === 'help' && c.name === rest[0]);
      if (topic) return await runCommand((await topic.load()).command, ['--help'], io);
      io.stdout.write(MAIN_HELP);
      return name === undefined ? ExitCode.Usage : ExitCode.Allowed;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.stdout.write(`${VERSION}\n`);
      return ExitCode.Allowed;
    }
    const entry = COMMANDS.find((c) => c.name === name);
    if (!entry)
      throw new GateError('usage', `unknown command ${JSON.stringify(name)}`, { hint: 'see: policy-gate --help' });
    return await runCommand((await entry.load()).command, rest, io);
  } catch (err) {
    return report(err, io, json);
  }
}

function report(thrown: unknown, io: CliIo, json: boolean): number {
  // an error from the SQLite driver is a store the gate cannot use, not a bug
  const err = storeError(thrown) ?? thrown;
  if (err instanceof GateError) {
    io.stderr.write(`policy-gate: ${err.code === 'usage' ? '' : 'error: '}${err.oneLine}\n`);
    if (err.hint) io.stderr.write(`  ${err.hint}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ error: err.toJSON(), exit_code: err.exitCode })}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(
    `policy-gate: internal error (policy-gate ${VERSION}): ${message}\n  the command must not run; please report this\n`,
  );
  if (json) {
    const error = { code: 'internal', message: String(err instanceof Error ? err.message : err) };
    io.stdout.write(`${JSON.stringify({ error, exit_code: ExitCode.Internal })}\n`);
  }
  return ExitCode.Internal;
}
