/**
 * `shell -c COMMAND [ARGV0 [ARG...]]`: a `bash -c` for agents and tools without hooks, set as
 * their shell. It takes the argv shapes tools call a shell with, gates the command as `exec`
 * does and runs it with bash, and refuses (exit 2, running nothing) any shape it does not
 * understand: a shell that guessed would run what nobody checked.
 */
import { ExitCode, usageError, type Policy } from '../engine/index.js';
import { joinArgv, type Parsed } from './args.js';
import { defineCommand, withExitCode } from './command.js';
import { runGated } from './exec.js';
import { argvInvalidUtf8, type CommandInput } from './input.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate shell -c COMMAND [ARGV0 [ARG...]]
       policy-gate-shell -c COMMAND [ARGV0 [ARG...]]

A bash -c for agents and tools that run commands through a shell and have no policy-gate hook:
set it as their shell (SHELL=/path/to/policy-gate-shell, or the tool's shell setting). Each
COMMAND is checked as \`policy-gate exec\` checks it (recorded, whitelisted, denied or held for
a reviewer) and runs only when allowed, with bash, its output passed through and recorded.
Invoked through a link named policy-gate-shell, the bin is this command: npm installs that
link next to policy-gate, or make one: ln -s "$(command -v policy-gate)" ~/bin/policy-gate-shell

Arguments, as bash takes them:
  -c COMMAND        the command string (required); words after it are $0, $1, … as in bash
  -l, --login, --noprofile, --norc
                    accepted; no profile or rc file is ever read (they are code nobody checked)
  -e, -u, -x, -o errexit|nounset|xtrace|pipefail
                    passed on to bash; flags combine as in bash: -lc, -ec, -eo pipefail -c
  --                end of options
Anything else (no -c: an interactive shell or a script file; -i, -s, other options) is refused
with exit 2 and nothing runs.

What is checked is what runs. COMMAND alone (with -l and the like) is checked as it is, exactly
as \`policy-gate exec -- COMMAND\`, and runs as bash --noprofile --norc -c COMMAND. With $0,
arguments or options that change how it runs, the command checked, recorded, shown to the
reviewer and run is the equivalent command line bash [-e …] -c COMMAND ARGV0 ARG…, so nobody
approves a "$1" without seeing it; such a command is never whitelisted.

Environment (a tool calling its shell passes no policy-gate flags):
  POLICY_GATE_STORE    audit store (default .policy-gate/audit.db in the working directory)
  POLICY_GATE_POLICY   policy directory (default: the shipped policies)
  POLICY_GATE_AGENT    the agent submitting the commands (claude-code, codex, ci …)
  POLICY_GATE_SESSION  the session they belong to (bursts and novelty are per session)
  POLICY_GATE_SERVER   a resident gate decides (unix:PATH or URL; policy-gate serve): the command
                       runs here, its run recorded through the server; unreachable: 126
  POLICY_GATE_TOKEN    the API token for POLICY_GATE_SERVER over HTTP
The command runs in the current directory, with this standard input, in the environment exec
gives it (LD_*, BASH_ENV, BASH_FUNC_* … removed). While it waits for a reviewer, a terminal on
stderr shows where to review it and a countdown.

Exit codes: the command's own exit code when it ran (128+N when killed by signal N) ·
126 it did not run (denied, timed out, interrupted, a policy or store error: the reason is on
stderr), as bash answers a command it cannot execute · 2 an invocation it does not understand
(nothing runs) · 70 internal error

Examples:
  SHELL=$(command -v policy-gate-shell) make
  POLICY_GATE_AGENT=aider POLICY_GATE_SESSION=s1 policy-gate-shell -c 'npm test'
  policy-gate-shell -c 'printf "%s\\n" "$0" "$@"' name a b
`;

export const command = defineCommand({ name: 'shell', help: HELP, options: {}, ownArguments: true, run });

/** A bash invocation that policy-gate shell understands. */
export interface ShellInvocation {
  /** The command string (-c). */
  readonly command: string;
  /** Options that change how it runs, as bash takes them: -e, -u, -x, -o NAME. */
  readonly options: readonly string[];
  /** $0 and the positional parameters, when given. */
  readonly argv0: string | undefined;
  readonly args: readonly string[];
}

const PASSED_ON = new Set(['e', 'u', 'x']);
const ACCEPTED = new Set(['l']);
const SET_OPTIONS = new Set(['errexit', 'nounset', 'xtrace', 'pipefail']);
const LONG = new Set(['--login', '--noprofile', '--norc']);
const HINT = 'policy-gate shell runs only `-c COMMAND [ARGV0 [ARG...]]`: see policy-gate shell --help';

/** Read bash's argv as bash would, keeping only what policy-gate shell supports. */
export function parseShellArgv(argv: readonly string[]): ShellInvocation {
  const options: string[] = [];
  let commandFlag = false;
  let i = 0;
  const refuse = (message: string): never => {
    throw usageError(message, HINT);
  };
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--' || word === '-') {
      i++;
      break;
    }
    if (LONG.has(word)) continue;
    if (word.startsWith('--')) refuse(`unsupported option ${word}`);
    if (word.startsWith('+')) refuse(`unsupported option ${word}`);
    if (!word.startsWith('-')) break;
    for (const flag of word.slice(1)) {
      if (flag === 'c') commandFlag = true;
      else if (ACCEPTED.has(flag)) continue;
      else if (PASSED_ON.has(flag)) options.push(`-${flag}`);
      else if (flag === 'o') {
        const name = argv[++i];
        if (name === undefined) refuse('-o: option requires an argument');
        if (!SET_OPTIONS.has(name!)) refuse(`unsupported option -o ${name}`);
        options.push('-o', name!);
      } else if (flag === 'i' || flag === 's')
        refuse(`-${flag}: policy-gate shell does not run an interactive shell or read commands from standard input`);
      else refuse(`unsupported option -${flag}`);
    }
  }
  if (!commandFlag)
    refuse(
      argv.length === i
        ? 'no -c COMMAND: policy-gate shell is not an interactive shell'
        : `no -c COMMAND: policy-gate shell does not run script files (${JSON.stringify(argv[i])})`,
    );
  if (i >= argv.length) refuse('-c: option requires an argument');
  return { command: argv[i]!, options, argv0: argv[i + 1], args: argv.slice(i + 2) };
}

/**
 * The command line that is checked and run: the command string itself when nothing else is
 * passed, else the equivalent bash command line, so the trail shows all that runs.
 */
export function shellCommandText(inv: ShellInvocation): string {
  if (inv.options.length === 0 && inv.argv0 === undefined) return inv.command;
  const positional = inv.argv0 === undefined ? [] : [inv.argv0, ...inv.args];
  return joinArgv(['bash', ...inv.options, '-c', inv.command, ...positional]);
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  const invocation = parseShellArgv(p.positionals);
  const input: CommandInput = {
    text: shellCommandText(invocation),
    invalidUtf8: argvInvalidUtf8(p.positionals, io),
  };
  const values = { session: nonEmpty(io.env.POLICY_GATE_SESSION), agent: nonEmpty(io.env.POLICY_GATE_AGENT) };
  const server = nonEmpty(io.env.POLICY_GATE_SERVER);
  try {
    if (server !== undefined) {
      const { execThroughServer } = await import('./exec-remote.js');
      const parsed = { values: { ...values, token: nonEmpty(io.env.POLICY_GATE_TOKEN) }, positionals: [], rest: null };
      return await execThroughServer(server, parsed, io, async () => input, 'inherit');
    }
    return await runGated({ values, positionals: [], rest: null }, io, async (_: Policy) => input, 'inherit');
  } catch (err) {
    // past the invocation, whatever went wrong, the command did not run: say so as exec does
    throw withExitCode(err, ExitCode.NotRun);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
