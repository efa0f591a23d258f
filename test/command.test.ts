/** The shared command runner (cli/command.ts) and the dispatcher's table of commands. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../cli/cli.js';
import { defineCommand, runCommand, type Command } from '../cli/command.js';
import type { Parsed } from '../cli/args.js';
import type { CliIo } from '../cli/io.js';
import { ExitCode, GateError } from '../engine/index.js';
import { runCli } from './helpers.js';

function io(): CliIo & { out: () => string } {
  let stdout = '';
  return {
    env: {},
    cwd: '/',
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: () => undefined },
    stdinIsTTY: true,
    stdin: Readable.from([]),
    out: () => stdout,
  };
}

/** Runs `command` and returns what its action was called with, or the error it ended with. */
async function outcome(command: Command, args: string[]): Promise<Parsed | GateError> {
  try {
    await runCommand(command, args, io());
  } catch (err) {
    if (err instanceof GateError) return err;
    throw err;
  }
  return calls.pop()!;
}

const calls: Parsed[] = [];
const record = async (p: Parsed): Promise<number> => {
  calls.push(p);
  return 0;
};

const judge = defineCommand({
  name: 'judge',
  help: 'Usage: policy-gate judge [-- COMMAND...]\n',
  options: { json: { type: 'boolean' } },
  commandAfterDash: true,
  run: record,
});
const show = defineCommand({
  name: 'show',
  help: 'Usage: policy-gate show ID [FORMAT]\n',
  options: {},
  operands: ['ID', '[FORMAT]'],
  run: record,
});
const group = defineCommand({
  name: 'things',
  help: 'Usage: policy-gate things <add|list>\n',
  options: {},
  subcommands: { add: { operands: ['NAME'], run: record }, list: { run: record } },
});

describe('the command runner', () => {
  it('answers --help (and -h) before anything else, with the help as it is', async () => {
    for (const args of [['--help'], ['-h'], ['x', 'y', '--help'], ['add', '--help']]) {
      const out = io();
      expect(await runCommand(group, args, out)).toBe(ExitCode.Allowed);
      expect(out.out()).toBe(group.help);
    }
  });

  it('passes the words after -- as the command line only to a command that takes one', async () => {
    expect(await outcome(judge, ['--json', '--', 'rm', '-rf', '/'])).toMatchObject({
      values: { json: true },
      positionals: [],
      rest: ['rm', '-rf', '/'],
    });
    expect(await outcome(show, ['--', '-x'])).toMatchObject({ positionals: ['-x'], rest: null });
  });

  it('refuses a missing or an unexpected operand as a usage error naming it', async () => {
    expect(await outcome(judge, ['ls'])).toMatchObject({
      code: 'usage',
      exitCode: ExitCode.Usage,
      message: 'unexpected argument "ls": put the command after --',
      hint: 'see: policy-gate judge --help',
    });
    expect(await outcome(show, [])).toMatchObject({ message: 'expected: show ID [FORMAT]' });
    expect(await outcome(show, ['a'])).toMatchObject({ positionals: ['a'] });
    expect(await outcome(show, ['a', 'b'])).toMatchObject({ positionals: ['a', 'b'] });
    expect(await outcome(show, ['a', 'b', 'c'])).toMatchObject({ message: 'unexpected argument "c"' });
    expect(await outcome(show, ['a', '--', 'b', 'c'])).toMatchObject({ message: 'unexpected argument "c"' });
    expect(await outcome(show, ['--bogus'])).toMatchObject({ message: 'unknown option --bogus' });
  });

  it('dispatches a group to its subcommand, with the subcommand taken off the operands', async () => {
    expect(await outcome(group, ['add', 'x'])).toMatchObject({ positionals: ['x'] });
    expect(await outcome(group, ['add'])).toMatchObject({ message: 'expected: things add NAME' });
    expect(await outcome(group, ['list', 'x'])).toMatchObject({ message: 'unexpected argument "x"' });
    for (const sub of ['remove', 'constructor', '__proto__'])
      expect(await outcome(group, [sub])).toMatchObject({
        message: `unknown things subcommand ${JSON.stringify(sub)}`,
        hint: 'see: policy-gate things --help',
      });
  });

  it('a group without a subcommand runs its default, or prints its help and exits 2', async () => {
    const out = io();
    expect(await runCommand(group, [], out)).toBe(ExitCode.Usage);
    expect(out.out()).toBe(group.help);
    const withDefault = defineCommand({ ...group, default: { run: async () => 7 } });
    expect(await runCommand(withDefault, [], io())).toBe(7);
  });

  it("a command's errorExitCode replaces the exit code of every error it ends with, usage errors too", async () => {
    const notRun = defineCommand({
      ...judge,
      errorExitCode: ExitCode.NotRun,
      run: async () => {
        throw new GateError('store-unavailable', 'the store is gone');
      },
    });
    expect(await outcome(notRun, ['ls'])).toMatchObject({ code: 'usage', exitCode: ExitCode.NotRun });
    expect(await outcome(notRun, ['--', 'ls'])).toMatchObject({
      code: 'store-unavailable',
      exitCode: ExitCode.NotRun,
    });
    // a bug stays a bug
    const buggy = defineCommand({ ...notRun, run: () => Promise.reject(new TypeError('oops')) });
    await expect(runCommand(buggy, ['--', 'ls'], io())).rejects.toThrow(TypeError);
  });
});

describe('the table of commands', () => {
  it("names each module's descriptor, whose help is that command's", async () => {
    for (const entry of COMMANDS) {
      const { command } = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.help).toMatch(new RegExp(`^Usage: policy-gate ${entry.name}[ \\n]`));
      const r = await runCli(['help', entry.name]);
      expect(r.code).toBe(ExitCode.Allowed);
      expect(r.stdout).toBe(command.help);
    }
  });

  it('an unknown command is a usage error, whatever its name', async () => {
    for (const name of ['nope', 'constructor', 'toString', '__proto__']) {
      const r = await runCli([name]);
      expect(r.code, name).toBe(ExitCode.Usage);
      expect(r.stderr, name).toBe(`policy-gate: unknown command ${JSON.stringify(name)}\n  see: policy-gate --help\n`);
    }
    expect(await main(['help', 'constructor'], io())).toBe(ExitCode.Allowed);
  });
});
