/**
 * A subcommand of the CLI, declared once: its help, its options, the operands it takes (or the
 * subcommands of a group such as `review` or `policy`) and what it runs. The shared runner
 * parses the arguments, answers --help, refuses a missing or unexpected operand and an unknown
 * subcommand, and only then runs the command with what it parsed.
 *
 * This module is loaded at every start: it imports nothing heavy. The descriptors live in the
 * command modules, which the dispatcher loads only for the command that runs.
 */
import { ExitCode } from '../engine/util/exit-codes.js';
import { GateError, storeError, usageError } from '../engine/util/errors.js';
import { bool, parse, type OptionSpec, type Parsed } from './args.js';
import type { CliIo } from './io.js';

export type Run = (p: Parsed, io: CliIo) => Promise<number>;

/** What a command (or one subcommand of a group) takes after its name, and what it runs. */
export interface Action {
  /**
   * The operands, as the usage writes them: `ID`, `[DIR]`, `BASE [HEAD]`; a bracketed one may
   * be left out. None when absent. Words after `--` count as operands (POSIX), except for a
   * command that takes a command line there.
   */
  readonly operands?: readonly string[];
  /** Called with the options and the operands alone (`p.positionals`, subcommand removed). */
  readonly run: Run;
}

interface Described {
  /** The word after `policy-gate`. */
  readonly name: string;
  /** What --help prints, as it is. */
  readonly help: string;
  /** Its options (--help / -h is added for every command). */
  readonly options: OptionSpec;
  /**
   * The exit code of every error the command ends with, usage errors included, when it must
   * not be the error's own: `exec` says 126 whatever kept the command from running. A bug
   * still exits 70.
   */
  readonly errorExitCode?: number;
}

/** A command that does one thing. */
export interface SimpleCommand extends Described, Action {
  /** The words after `--` are a command line to judge (`p.rest`); no operand is taken. */
  readonly commandAfterDash?: boolean;
  /**
   * The command reads its arguments itself, as they came (`shell` takes bash's argv): they are
   * all in `p.positionals`, and only a lone `--help` is answered here.
   */
  readonly ownArguments?: boolean;
}

/** A group of subcommands under one help and one set of options (`review list`, `policy diff`). */
export interface CommandGroup extends Described {
  readonly subcommands: Readonly<Record<string, Action>>;
  /** What the group does with no subcommand; without one it prints its help and exits 2. */
  readonly default?: Action;
}

export type Command = SimpleCommand | CommandGroup;

/** Checks a descriptor's shape where it is written. */
export function defineCommand<C extends Command>(command: C): C {
  return command;
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies OptionSpec;

/** Parse `args` for `command`, answer --help, check the operands, then run it. */
export async function runCommand(command: Command, args: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(command, args, io);
  } catch (err) {
    if (command.errorExitCode === undefined) throw err;
    throw withExitCode(err, command.errorExitCode);
  }
}

/** The same error with another exit code (a bug stays a bug: it is returned as it is). */
export function withExitCode(err: unknown, exitCode: number): unknown {
  const gate = storeError(err);
  if (!gate) return err;
  return new GateError(gate.code, gate.message, {
    exitCode,
    ...(gate.hint ? { hint: gate.hint } : {}),
    ...(gate.location ? { location: gate.location } : {}),
  });
}

async function dispatch(command: Command, args: string[], io: CliIo): Promise<number> {
  if ('ownArguments' in command && command.ownArguments === true) {
    if (args.length === 1 && args[0] === '--help') {
      io.stdout.write(command.help);
      return ExitCode.Allowed;
    }
    return command.run({ values: {}, positionals: args, rest: null }, io);
  }
  const p = parse(command.name, args, { ...command.options, ...HELP_OPTION });
  if (bool(p, 'help')) {
    io.stdout.write(command.help);
    return ExitCode.Allowed;
  }
  const takesLine = 'commandAfterDash' in command && command.commandAfterDash === true;
  const words = takesLine ? p.positionals : [...p.positionals, ...(p.rest ?? [])];
  const hint = `see: policy-gate ${command.name} --help`;
  const start = (path: string, action: Action, operands: string[]): Promise<number> => {
    const usage = action.operands ?? [];
    if (operands.length > usage.length) {
      const where = takesLine ? ': put the command after --' : '';
      throw usageError(`unexpected argument ${JSON.stringify(operands[usage.length])}${where}`, hint);
    }
    if (operands.length < usage.filter((o) => !o.startsWith('[')).length)
      throw usageError(`expected: ${path} ${usage.join(' ')}`, hint);
    return action.run({ values: p.values, positionals: operands, rest: takesLine ? p.rest : null }, io);
  };
  if (!('subcommands' in command)) return start(command.name, command, words);
  const [sub, ...operands] = words;
  if (sub === undefined) {
    if (command.default) return start(command.name, command.default, []);
    io.stdout.write(command.help);
    return ExitCode.Usage;
  }
  const action = Object.hasOwn(command.subcommands, sub) ? command.subcommands[sub] : undefined;
  if (!action) throw usageError(`unknown ${command.name} subcommand ${JSON.stringify(sub)}`, hint);
  return start(`${command.name} ${sub}`, action, operands);
}
