/**
 * Dispatch and the one error handler. Subcommands load lazily, so `check` does not pay for
 * the modules of the others. Errors become one clear line on stderr (and a JSON document with
 * --json); an unknown error is a bug: exit 70 with the version.
 */
import { EXIT_CODE_TABLE } from '../engine/util/exit-codes.js';
import { ExitCode } from '../engine/util/exit-codes.js';
import { GateError, storeError } from '../engine/util/errors.js';
import { VERSION } from '../engine/util/version.js';
import type { CliIo, Subcommand } from './io.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: Subcommand }> }> = {
  check: {
    summary: 'check a command before running it, record it, answer (exit 0 = run it)',
    load: () => import('./check.js'),
  },
  assess: { summary: 'score a command without recording anything', load: () => import('./assess.js') },
  exec: {
    summary: 'check a command, then run it only if allowed, recording its output',
    load: () => import('./exec.js'),
  },
  review: {
    summary: 'decide pending commands: interactive queue, or list | show | approve | deny',
    load: () => import('./review.js'),
  },
  session: {
    summary: "session show: a session's timeline of commands, decisions and runs",
    load: () => import('./session.js'),
  },
  play: { summary: 'replay the recorded output of a command run through exec', load: () => import('./play.js') },
  verify: {
    summary: 'verify the audit trail: hashes, signed checkpoints, lifecycle, signatures',
    load: () => import('./verify.js'),
  },
  checkpoint: {
    summary: 'checkpoint export: sign the chain now and copy the checkpoint off the machine',
    load: () => import('./checkpoint.js'),
  },
  report: {
    summary: 'evidence report (md or self-contained html) with the compliance mapping',
    load: () => import('./report.js'),
  },
  audit: { summary: 'list recorded commands and their decisions', load: () => import('./audit.js') },
  policy: {
    summary: 'policy test | lint | diff: check a policy and classify a change to it',
    load: () => import('./policy.js'),
  },
  whitelist: {
    summary: 'whitelist propose: write the rule for an approved command, for review',
    load: () => import('./whitelist.js'),
  },
  init: { summary: 'scaffold a policy repository: policies, CODEOWNERS, CI workflow', load: () => import('./init.js') },
};

export const MAIN_HELP = `policy-gate ${VERSION} — a pre-execution gate for the shell commands of AI agents

Usage: policy-gate <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Every command accepts --help. Commands that use the store or the policy accept
--store PATH (env POLICY_GATE_STORE, default .policy-gate/audit.db) and
--policy DIR (env POLICY_GATE_POLICY, default the policies shipped with policy-gate).

Exit codes:
${EXIT_CODE_TABLE.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n')}

Example:
  echo 'git status' | policy-gate check && git status
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes('--json') || argv.includes('--jsonl');
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (topic && COMMANDS[topic]) return await (await COMMANDS[topic].load()).run(['--help'], io);
      io.stdout.write(MAIN_HELP);
      return name === undefined ? ExitCode.Usage : ExitCode.Allowed;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.stdout.write(`${VERSION}\n`);
      return ExitCode.Allowed;
    }
    const command = COMMANDS[name];
    if (!command)
      throw new GateError('usage', `unknown command ${JSON.stringify(name)}`, { hint: 'see: policy-gate --help' });
    return await (await command.load()).run(rest, io);
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
  if (json)
    io.stdout.write(
      `${JSON.stringify({ error: { code: 'internal', message: String(err instanceof Error ? err.message : err) }, exit_code: ExitCode.Internal })}\n`,
    );
  return ExitCode.Internal;
}
