import { ExitCode, usageError, whyNotWhitelisted, type Policy } from '../engine/index.js';
import { bool, str, type Parsed } from './args.js';
import { GATE_OPTIONS, commandInput, gateCommand } from './check.js';
import { defineCommand } from './command.js';
import { commandFromArgv, readCommand, type CommandInput } from './input.js';
import type { CliIo } from './io.js';
import { renderRecord } from './render/record.js';
import { style } from './render/style.js';
import { allowsRun } from '../engine/model/verdict.js';

const HELP = `Usage: policy-gate exec [options] -- COMMAND...
       echo 'COMMAND' | policy-gate exec [options]

Check a command and run it only if it is whitelisted or a reviewer approves it, waiting for
the decision like \`check\`. It runs as \`bash --noprofile --norc -c COMMAND\` (the exact text
that was checked) in a scrubbed environment: LD_*, DYLD_*, BASH_ENV, ENV, BASH_FUNC_*,
SHELLOPTS, PROMPT_COMMAND, NODE_OPTIONS and similar variables are removed. The run is recorded
in the audit trail (EXEC_START before it starts, EXEC_END with the exit code when it ends) and
its output is recorded as an asciicast v2 file under the store directory (recordings/), whose
path and SHA-256 are in EXEC_END. Replay it with \`policy-gate play COMMAND_ID\`.

The command's output goes to stdout and stderr as it runs; the gate's own messages go to
stderr. With the command after --, it gets this standard input; read from standard input, it
gets none. Programs see pipes, not a terminal. While it waits for a reviewer, and only when
stderr is a terminal, stderr shows the command's id, risk, why it is held, where to review it
and a countdown to the end of the wait, cleared before the command runs.

Options:
  --session ID      session the command belongs to
  --agent NAME      the agent submitting it
  --intent TEXT     what the agent says the command is for
  --cwd DIR         run (and judge) the command in this directory (default: this one)
  --timeout SECS    how long to wait for a reviewer (default: gate.yaml, 60 s)
  --now TIME        evaluate as of this ISO 8601 time (replay)
  --require-reviewed  use only whitelist rules merged into the protected ref
  --quiet           no notice and countdown on stderr while it waits for a reviewer
  --server unix:PATH|URL  a resident gate decides (policy-gate serve; env POLICY_GATE_SERVER):
                    the command runs here and its run is recorded through the server's API
                    (the recording stays next to this machine's store); unreachable: 126
  --token TOKEN     API token for --server over HTTP (env POLICY_GATE_TOKEN)
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  --policy DIR      policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  -h, --help        show this help

Exit codes: the command's own exit code when it ran (128+N when killed by signal N), even when
its end could not be recorded (it is spooled and recorded late; stderr says so) ·
126 it did not run (denied, timed out, interrupted, a usage, policy or store error: the reason
is on stderr) · 70 internal error

Examples:
  policy-gate exec --session s1 --agent codex -- npm test
  policy-gate exec -- 'rm -rf build && make'
`;

export const command = defineCommand({
  name: 'exec',
  help: HELP,
  options: { ...GATE_OPTIONS, server: { type: 'string' }, token: { type: 'string' } },
  commandAfterDash: true,
  // whatever went wrong, the command did not run: say so with exec's own code
  errorExitCode: ExitCode.NotRun,
  run,
});

async function run(p: Parsed, io: CliIo): Promise<number> {
  if (bool(p, 'no-wait'))
    throw usageError('exec always waits for the decision: --no-wait is for check', 'see: policy-gate exec --help');
  if (bool(p, 'json'))
    throw usageError(
      "exec passes the command's own output through: there is no --json " +
        '(the record is in the trail: policy-gate session show / audit --json)',
      'see: policy-gate exec --help',
    );
  const fromStdin = !(p.rest && p.rest.length > 0);
  const server = str(p, 'server') ?? (io.env.POLICY_GATE_SERVER || undefined);
  if (server !== undefined) {
    for (const flag of ['now', 'policy', 'require-reviewed', 'cwd'])
      if (p.values[flag] !== undefined)
        throw usageError(`--${flag} cannot be used with --server: the server judges with its own policy and clock`);
    const { execThroughServer } = await import('./exec-remote.js');
    const read = (max: number): Promise<CommandInput> =>
      fromStdin ? readCommand(io, max) : Promise.resolve(commandFromArgv(p.rest!, io));
    return execThroughServer(server, p, io, read, fromStdin ? 'ignore' : 'inherit');
  }
  return runGated(p, io, commandInput(p, io), fromStdin ? 'ignore' : 'inherit');
}

/**
 * Check a command as `check` does and run it only when allowed, recording the run (`exec`,
 * `shell`): the command's own exit code when it ran, 126 (the reason on stderr) when not.
 */
export async function runGated(
  p: Parsed,
  io: CliIo,
  readInput: (policy: Policy) => Promise<CommandInput>,
  stdin: 'inherit' | 'ignore',
): Promise<number> {
  const { record, assessment, policy, gate, interrupted } = await gateCommand(p, io, readInput);
  try {
    if (record.truncated) {
      // only its first bytes were recorded: what would run is not what the trail shows
      io.stderr.write(
        renderRecord(style(io.stderr, io.env), record, assessment, whyNotWhitelisted(assessment, policy)),
      );
      io.stderr.write(
        `policy-gate: not run (the input is over the size limit and was recorded only in part: exec runs only what it recorded whole)\n`,
      );
      return ExitCode.NotRun;
    }
    if (interrupted || !allowsRun(record.decision)) {
      io.stderr.write(
        renderRecord(style(io.stderr, io.env), record, assessment, whyNotWhitelisted(assessment, policy)),
      );
      io.stderr.write(`policy-gate: not run (${interrupted ? 'interrupted while waiting' : record.decision})\n`);
      return ExitCode.NotRun;
    }
    const cols = Number(io.env.COLUMNS) || 80;
    const rows = Number(io.env.LINES) || 24;
    const { exitCode, end, endNotRecorded } = await gate.exec(record, {
      cwd: record.cwd ?? io.cwd,
      env: io.env,
      stdin,
      output: (stream, chunk) => (stream === 'stdout' ? io.stdout : io.stderr).write(chunk),
      terminal: { cols, rows },
      ...(io.signal ? { signal: io.signal } : {}),
    });
    if (end.recording_error) io.stderr.write(`policy-gate: ${end.recording_error}\n`);
    if (endNotRecorded)
      io.stderr.write(
        `policy-gate: the command ran (exit ${exitCode}) but its end could not be recorded: ${endNotRecorded}; ` +
          'it was spooled for the next writer to record\n',
      );
    return exitCode;
  } finally {
    await gate.close();
  }
}
