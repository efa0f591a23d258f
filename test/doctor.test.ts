/**
 * `policy-gate doctor`: it runs the installed hook command line itself, in the agent's shell,
 * and exits 0 only when nothing blocks. Real settings files, real processes, a real store.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';
import { keyFor, reviewPolicyDir } from './review-fixture.js';

interface Finding {
  level: 'ok' | 'warn' | 'block';
  check: string;
  message: string;
  fix?: string;
}

function setup(): { dir: string; home: string; store: string } {
  return { dir: tempDir('policy-gate-doctor-'), home: tempDir(), store: join(tempDir(), 'audit.db') };
}

async function doctor(
  s: { dir: string; home: string; store: string },
  args: string[] = [],
): Promise<{ code: number; findings: Finding[] }> {
  const r = await runCli(['doctor', '--json', '--store', s.store, ...args], { cwd: s.dir, env: { HOME: s.home } });
  expect(r.code === 0 || r.code === 1, r.stderr).toBe(true);
  const out = JSON.parse(r.stdout) as { ok: boolean; findings: Finding[] };
  expect(out.ok).toBe(r.code === 0);
  return { code: r.code, findings: out.findings };
}

const blocks = (f: Finding[]) => f.filter((x) => x.level === 'block');

describe('doctor', () => {
  it.each(['claude', 'codex', 'gemini'])(
    '%s: a fresh install passes, proven by running the hook line',
    async (agent) => {
      const s = setup();
      expect((await runCli(['install', agent, '--store', s.store], { cwd: s.dir, env: { HOME: s.home } })).code).toBe(
        0,
      );
      const { code, findings } = await doctor(s, [agent]);
      expect(blocks(findings)).toEqual([]);
      expect(code).toBe(0);
      const runs = findings.filter((f) => f.check === 'runs').map((f) => `${f.level} ${f.message}`);
      expect(runs).toEqual([
        'ok a malformed payload: blocked',
        'ok a crash (the binary missing): blocked',
        'ok a denied command (rm -rf /): blocked',
        'ok a whitelisted command (git status): allowed',
      ]);
    },
  );

  it('a hook binary that is not there blocks, with the fix', async () => {
    const s = setup();
    await runCli(['install', 'claude', '--store', s.store, '--bin', '/nonexistent/policy-gate'], {
      cwd: s.dir,
      env: { HOME: s.home },
    });
    const { code, findings } = await doctor(s, ['claude']);
    expect(code).toBe(1);
    expect(blocks(findings)).toContainEqual(
      expect.objectContaining({ check: 'binary', message: '/nonexistent/policy-gate: not an executable file' }),
    );
    // the whitelisted sample cannot be allowed by a hook that cannot run
    expect(blocks(findings).some((f) => f.check === 'runs' && f.message.includes('whitelisted'))).toBe(true);
  });

  it("an agent timeout shorter than the gate's answer, and a hook line without its guard, block", async () => {
    const s = setup();
    await runCli(['install', 'claude', '--store', s.store], { cwd: s.dir, env: { HOME: s.home } });
    const file = join(s.dir, '.claude', 'settings.json');
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    const handler = settings.hooks.PreToolUse[0].hooks[0];
    handler.timeout = 10;
    handler.command = handler.command.replace(/ \|\| \{.*\}$/, '');
    writeFileSync(file, JSON.stringify(settings, null, 2));
    const { code, findings } = await doctor(s, ['claude']);
    expect(code).toBe(1);
    const checks = blocks(findings).map((f) => f.check);
    expect(checks).toContain('timeouts');
    expect(checks).toContain('hook');
    // unguarded, a crash is "no decision" to Claude Code: the command would run
    expect(blocks(findings)).toContainEqual(
      expect.objectContaining({
        check: 'runs',
        message: expect.stringMatching(/crash.*expected blocked, but Claude Code would see no decision/),
      }),
    );
  });

  it('a named agent without the hook blocks; turning hooks off in the settings blocks', async () => {
    const s = setup();
    expect((await doctor(s, ['gemini'])).code).toBe(1);
    await runCli(['install', 'gemini', '--store', s.store], { cwd: s.dir, env: { HOME: s.home } });
    const file = join(s.dir, '.gemini', 'settings.json');
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...settings, hooksConfig: { enabled: false } }));
    const { code, findings } = await doctor(s, ['gemini']);
    expect(code).toBe(1);
    expect(blocks(findings)).toContainEqual(
      expect.objectContaining({ check: 'hook', message: expect.stringContaining('hooksConfig.enabled') }),
    );
  });

  it("warns when the agent's account can read a reviewer's private key, and when reviewers look at another store", async () => {
    const s = setup();
    const policy = reviewPolicyDir([{ id: 'alice' }]);
    mkdirSync(join(s.home, '.ssh'));
    const key = keyFor('alice');
    copyFileSync(key.file, join(s.home, '.ssh', 'id_ed25519'));
    copyFileSync(key.pubFile, join(s.home, '.ssh', 'id_ed25519.pub'));
    await runCli(['install', 'claude', '--store', s.store, '--policy', policy], { cwd: s.dir, env: { HOME: s.home } });
    const other = join(tempDir(), 'other.db');
    const { code, findings } = await doctor({ ...s, store: other }, ['claude', '--policy', policy]);
    expect(code).toBe(0);
    expect(findings).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        check: 'access',
        message: expect.stringContaining(join(s.home, '.ssh', 'id_ed25519')),
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        check: 'store',
        message: `reviewers here would look at ${other}, but the hook records into ${s.store}`,
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ level: 'ok', check: 'reviewers', message: '1 reviewer with keys: alice' }),
    );
  });

  it('human output: one line per finding with its fix, and the verdict', async () => {
    const s = setup();
    const r = await runCli(['doctor', 'codex', '--store', s.store], { cwd: s.dir, env: { HOME: s.home } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("✗ hook       Codex: no policy-gate hook in Codex's settings (project, user)");
    expect(r.stdout).toContain('fix: policy-gate install codex');
    expect(r.stdout).toMatch(/1 problem block/);
  });
});
