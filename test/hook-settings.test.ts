/**
 * The adapters' reading of each agent's payload, and install/uninstall on real settings files:
 * merged with what is there (comments kept), a backup, one entry however often it runs, and
 * uninstall removing exactly what install wrote.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { claude, codex, gemini } from '../cli/hooks/agents.js';
import { answerBudgetMs, answerFor } from '../cli/hook.js';
import type { CommandRecord } from '../engine/index.js';
import { agentTimeoutFor } from '../cli/install.js';
import { runCli, tempDir } from './helpers.js';

const bash = (command: unknown, extra: Record<string, unknown> = {}) => ({
  hook_event_name: 'PreToolUse',
  tool_name: 'Bash',
  session_id: 's',
  cwd: '/tmp',
  tool_input: { command, ...extra },
});

describe('payloads', () => {
  it("Codex's argv form is unwrapped to the script bash -lc runs; any other argv is quoted word by word", () => {
    expect(codex.parse(bash(['bash', '-lc', 'ls -la | wc -l']))).toMatchObject({ command: 'ls -la | wc -l' });
    expect(codex.parse(bash(['zsh', '-lc', 'git status']))).toMatchObject({ command: 'git status' });
    expect(codex.parse(bash(['rm', '-rf', 'my dir']))).toMatchObject({ command: "rm -rf 'my dir'" });
    // a string is the script itself: a `bash -lc '…'` inside it is a nested shell the parser reads
    expect(codex.parse(bash("bash -lc 'npm test'"))).toMatchObject({ command: "bash -lc 'npm test'" });
    expect(() => codex.parse(bash(['bash', '-lc', '  ']))).toThrow(/empty script/);
    expect(() => codex.parse(bash([1, 2]))).toThrow(/neither a string nor an argv/);
  });

  it("Gemini's dir_path is where the command runs, under the session's cwd", () => {
    const call = gemini.parse({
      hook_event_name: 'BeforeTool',
      tool_name: 'run_shell_command',
      cwd: '/home/u/proj',
      tool_input: { command: 'make', dir_path: 'sub/dir', description: 'build' },
    });
    expect(call).toMatchObject({ kind: 'shell', cwd: '/home/u/proj/sub/dir', intent: 'build' });
  });

  it('the wrong event, a missing tool name, a non-string command or a PowerShell call: refused with the reason', () => {
    expect(() => claude.parse({ ...bash('ls'), hook_event_name: 'PostToolUse' })).toThrow(/answers PreToolUse hooks/);
    expect(() => gemini.parse({ ...bash('ls'), hook_event_name: 'PreToolUse' })).toThrow(/answers BeforeTool hooks/);
    expect(() => claude.parse({ hook_event_name: 'PreToolUse' })).toThrow(/no tool_name/);
    expect(() => claude.parse(bash(42))).toThrow(/tool_input.command is not a string/);
    expect(() => claude.parse(bash(''))).toThrow(/is empty/);
    expect(() => claude.parse([])).toThrow(/not a JSON object/);
    expect(() => claude.parse({ ...bash('Get-ChildItem'), tool_name: 'PowerShell' })).toThrow(/PowerShell/);
    expect(claude.parse({ ...bash('x'), tool_name: 'Read' })).toEqual({ kind: 'other', tool: 'Read' });
  });

  it('answers: codex allows by silence; every deny exits 2 with the reason on stderr and deny JSON', () => {
    expect(codex.answer({ kind: 'allow', reason: 'ok' })).toEqual({ stdout: '', stderr: '', exit: 0 });
    for (const agent of [claude, codex, gemini]) {
      const out = agent.answer({ kind: 'deny', reason: 'no\nway' });
      expect(out.exit).toBe(2);
      expect(out.stderr).toBe('no way\n');
      expect(JSON.stringify(JSON.parse(out.stdout))).toContain('deny');
      expect(agent.answer({ kind: 'pass' })).toEqual({ stdout: '', stderr: '', exit: 0 });
    }
  });
});

describe('answerFor', () => {
  it('an approved command judged by its first bytes only (over the size limit) is never allowed through a hook', () => {
    const record = {
      command_id: '01JTRUNCATED0000000000000',
      decision: 'approved',
      decided_by: 'alice',
      risk_level: 'low',
      risk_score: 0,
      signals: [],
      whitelist_provenance: [],
      truncated: { bytes: 2_000_000, sha256: 'ab', complete: true, limit: 1_048_576 },
    } as unknown as CommandRecord;
    expect(answerFor(record)).toMatchObject({ kind: 'deny', reason: expect.stringContaining('first bytes only') });
    expect(answerFor({ ...record, truncated: null })).toMatchObject({ kind: 'allow' });
  });
});

describe('timeouts', () => {
  it("the agent's hook timeout install writes leaves room for the longest reviewer wait", () => {
    for (const wait of [1, 5, 60, 300, 3600]) {
      const t = agentTimeoutFor(wait);
      expect(answerBudgetMs(t * 1000)).toBeGreaterThanOrEqual((wait + 2) * 1000);
      expect(answerBudgetMs(t * 1000)).toBeLessThan(t * 1000);
    }
  });
});

function setup(): { dir: string; home: string; store: string } {
  return { dir: tempDir(), home: tempDir(), store: join(tempDir(), 'audit.db') };
}

describe('install and uninstall', () => {
  it('Gemini CLI: merged into settings.json with comments and other hooks kept, timeout in ms; uninstall restores', async () => {
    const { dir, home, store } = setup();
    mkdirSync(join(dir, '.gemini'));
    const file = join(dir, '.gemini', 'settings.json');
    const original =
      '{\n  // the team theme\n  "theme": "dark",\n  "hooks": {"BeforeTool": [{"matcher": "write_file", ' +
      '"hooks": [{"type": "command", "command": "./scan.sh"}]}]}\n}\n';
    writeFileSync(file, original);
    const r = await runCli(['install', 'gemini', '--store', store], { cwd: dir, env: { HOME: home } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed the policy-gate hook in ${file}`);
    expect(r.stdout).toMatch(/previous file kept as .*settings\.json\.policy-gate-backup-/);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('// the team theme');
    const groups = JSON.parse(text.replace(/^\s*\/\/.*$/m, '')).hooks.BeforeTool;
    expect(groups).toHaveLength(2);
    expect(groups[0].hooks[0].command).toBe('./scan.sh');
    expect(groups[1]).toMatchObject({
      matcher: '^run_shell_command$',
      hooks: [{ name: 'policy-gate', timeout: 75_000 }],
    });
    expect(groups[1].hooks[0].command).toMatch(/hook gemini --store .* --agent-timeout 75 \|\| \{/);
    const backups = readdirSync(join(dir, '.gemini')).filter((f) => f.includes('backup'));
    expect(readFileSync(join(dir, '.gemini', backups[0]!), 'utf8')).toBe(original);

    // again: still one gate entry
    expect((await runCli(['install', 'gemini', '--store', store], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/m, '')).hooks.BeforeTool).toHaveLength(2);

    const u = await runCli(['uninstall', 'gemini'], { cwd: dir, env: { HOME: home } });
    expect(u.code).toBe(0);
    const after = readFileSync(file, 'utf8');
    expect(after).toContain('// the team theme');
    expect(JSON.parse(after.replace(/^\s*\/\/.*$/m, ''))).toEqual(JSON.parse(original.replace(/^\s*\/\/.*$/m, '')));
  });

  it('Claude Code --user: ~/.claude/settings.json created; a settings file that is not JSON is left untouched (exit 2)', async () => {
    const { dir, home, store } = setup();
    const r = await runCli(['install', 'claude', '--user', '--store', store], { cwd: dir, env: { HOME: home } });
    expect(r.code).toBe(0);
    const settings = JSON.parse(readFileSync(join(home, '.claude', 'settings.json'), 'utf8'));
    expect(settings.hooks.PreToolUse).toEqual([
      {
        matcher: 'Bash',
        hooks: [
          expect.objectContaining({ type: 'command', timeout: 75, command: expect.stringContaining('hook claude') }),
        ],
      },
    ]);
    mkdirSync(join(dir, '.claude'));
    writeFileSync(join(dir, '.claude', 'settings.json'), '{"permissions": {');
    const bad = await runCli(['install', 'claude', '--store', store], { cwd: dir, env: { HOME: home } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/settings\.json:1: not valid JSON .*nothing changed/);
    expect(readFileSync(join(dir, '.claude', 'settings.json'), 'utf8')).toBe('{"permissions": {');
  });

  it('Codex: a marked [[hooks.PreToolUse]] block appended to config.toml, comments kept; uninstall restores the file', async () => {
    const { dir, home, store } = setup();
    mkdirSync(join(dir, '.codex'));
    const file = join(dir, '.codex', 'config.toml');
    const original = '# my codex settings\nmodel = "gpt-5"\n\n[features]\nweb_search = true # why not\n';
    writeFileSync(file, original);
    expect((await runCli(['install', 'codex', '--store', store], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    expect((await runCli(['install', 'codex', '--store', store], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(original)).toBe(true);
    const toml = parseToml(text) as { model: string; features: unknown; hooks: { PreToolUse: unknown[] } };
    expect(toml.model).toBe('gpt-5');
    expect(toml.features).toEqual({ web_search: true });
    expect(toml.hooks.PreToolUse).toEqual([
      {
        matcher: '^Bash$',
        hooks: [
          expect.objectContaining({ type: 'command', timeout: 75, command: expect.stringContaining('hook codex') }),
        ],
      },
    ]);
    expect((await runCli(['uninstall', 'codex'], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(original);
  });

  it('Codex: hooks written inline cannot be extended: refused, nothing changed', async () => {
    const { dir, home, store } = setup();
    mkdirSync(join(dir, '.codex'));
    const file = join(dir, '.codex', 'config.toml');
    writeFileSync(file, '[hooks]\nPreToolUse = []\n');
    const r = await runCli(['install', 'codex', '--store', store], { cwd: dir, env: { HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('defines its hooks inline');
    expect(readFileSync(file, 'utf8')).toBe('[hooks]\nPreToolUse = []\n');
  });

  it('uninstall with nothing installed changes nothing; --dry-run prints without writing', async () => {
    const { dir, home, store } = setup();
    const u = await runCli(['uninstall', 'claude'], { cwd: dir, env: { HOME: home } });
    expect(u).toMatchObject({ code: 0 });
    expect(u.stdout).toContain('no policy-gate hook');
    const d = await runCli(['install', 'claude', '--dry-run', '--store', store], { cwd: dir, env: { HOME: home } });
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout).hooks.PreToolUse[0].matcher).toBe('Bash');
    expect(existsSync(join(dir, '.claude'))).toBe(false);
  });
});
