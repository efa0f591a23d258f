/**
 * `policy-gate completion bash|zsh|fish`: scripts generated from the command table and the
 * descriptors. The bash script is sourced in a real bash and its function called as bash's
 * completion would call it; zsh and fish are syntax-checked when installed, and read otherwise.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, MAIN_HELP } from '../cli/cli.js';
import { runCli, tempDir } from './helpers.js';

const scripts: Record<string, string> = {};

beforeAll(async () => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runCli(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    scripts[shell] = r.stdout;
  }
});

const has = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

describe('completion scripts', () => {
  it('each names every command of the table, completion included', () => {
    expect(COMMANDS.map((c) => c.name)).toContain('completion');
    for (const [shell, text] of Object.entries(scripts)) {
      for (const c of COMMANDS) expect(text, `${shell}: ${c.name}`).toMatch(new RegExp(`\\b${c.name}\\b`));
    }
  });

  it('is listed in the main help, and an unknown shell is a usage error', async () => {
    expect(MAIN_HELP).toMatch(/^ {2}completion +completion bash \| zsh \| fish/m);
    const r = await runCli(['completion', 'powershell']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown completion subcommand "powershell"/);
    expect((await runCli(['completion'])).code).toBe(2);
    expect((await runCli(['completion', '--help'])).stdout).toMatch(/bash-completion\/completions\/policy-gate/);
  });
});

describe('bash', () => {
  let file: string;
  beforeAll(() => {
    file = join(tempDir(), 'policy-gate.bash');
    writeFileSync(file, scripts.bash!);
  });

  /** What the completion function answers for the command line `words`, the last word being completed. */
  function complete(...words: string[]): string[] {
    const array = ['policy-gate', ...words].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source "$1" || exit 9; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _policy_gate;` +
          ` printf '%s\\n' "\${COMPREPLY[@]}"`,
        'bash',
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('registers itself for policy-gate', () => {
    const r = spawnSync('bash', ['--norc', '-c', 'source "$1"; complete -p policy-gate', 'bash', file], {
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('complete -o default -F _policy_gate policy-gate');
  });

  it('completes command names', () => {
    const ch = complete('ch');
    expect(ch).toContain('check');
    expect(ch.every((w) => w.startsWith('ch'))).toBe(true);
    expect(complete('ver')).toEqual(['verify']);
    expect(complete('')).toEqual(expect.arrayContaining([...COMMANDS.map((c) => c.name), 'help', '--version']));
    expect(complete('help', 'rev')).toEqual(['review']);
  });

  it("completes a command's options from its descriptor", () => {
    expect(complete('check', '--no-')).toEqual(['--no-wait']);
    expect(complete('check', '--no')).toEqual(['--no-wait', '--now']);
    expect(complete('play', '--no')).toEqual(['--no-timing']);
    expect(complete('audit', '--st')).toEqual(['--store']);
    expect(complete('verify', '--h')).toEqual(['--help']);
  });

  it("completes a group's subcommands, skipping options and their values", () => {
    expect(complete('review', '')).toEqual(['list', 'show', 'approve', 'deny', 'statement', 'submit']);
    expect(complete('review', 'ap')).toEqual(['approve']);
    expect(complete('review', '--store', 'x.db', 'l')).toEqual(['list']);
    expect(complete('policy', '')).toEqual(expect.arrayContaining(['test', 'lint', 'diff']));
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // once given, no other subcommand is offered
    expect(complete('review', 'show', '')).toEqual([]);
  });

  it('leaves file names to bash after an option that takes a value, and after --', () => {
    expect(complete('check', '--store', '')).toEqual([]);
    expect(complete('check', '--', 'gi')).toEqual([]);
    expect(complete('nonsense', '--')).toEqual([]);
  });
});

describe('zsh and fish', () => {
  it('zsh: a #compdef function that completes the same commands, options and subcommands', () => {
    const text = scripts.zsh!;
    expect(text.startsWith('#compdef policy-gate\n')).toBe(true);
    expect(text).toContain("'check:check a command before running it");
    // a summary with a quote is quoted for zsh
    expect(text).toContain(`'status:a recorded command'\\''s state`);
    const review = text.slice(text.indexOf('    review)'), text.indexOf(';;', text.indexOf('    review)')));
    expect(review).toMatch(/opts=\([^)]*--reviewer[^)]*\)/);
    expect(review).toMatch(/valued=\([^)]*--key[^)]*\)/);
    expect(review).toContain('subs=(list show approve deny statement submit)');
    expect(text).toContain('compdef _policy-gate policy-gate');
    if (has('zsh')) {
      const file = join(tempDir(), '_policy-gate');
      writeFileSync(file, text);
      const r = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('fish: complete lines for every command, option and subcommand', () => {
    const text = scripts.fish!;
    expect(text).toContain(
      "complete -c policy-gate -n __fish_use_subcommand -a check -d 'check a command before running it",
    );
    expect(text).toContain("-a status -d 'a recorded command\\'s state");
    expect(text).toContain("complete -c policy-gate -n '__fish_seen_subcommand_from check' -l no-wait\n");
    expect(text).toContain("complete -c policy-gate -n '__fish_seen_subcommand_from check' -l store -r -F\n");
    expect(text).toContain(
      "-n '__fish_seen_subcommand_from review; and not __fish_seen_subcommand_from list show approve deny statement submit'" +
        " -a 'list show approve deny statement submit'",
    );
    if (has('fish')) {
      const file = join(tempDir(), 'policy-gate.fish');
      writeFileSync(file, text);
      const r = spawnSync('fish', ['--no-execute', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
  });
});
