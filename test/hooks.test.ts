/**
 * Agents in the loop. `policy-gate install AGENT` writes the hook into the agent's own settings
 * file; a fake agent (test/hooks/fake-agent.mjs) — written from each agent's documentation, not
 * from the adapter — reads that file, runs the installed command line in the agent's shell with
 * a real payload from the agent's documentation, enforces its timeout, and judges the answer by
 * the agent's rules, under which a crash, exit 1, 127 or a timeout let the command RUN. Every
 * case that must block is checked through it: a deny, a malformed payload, a crash, a missing
 * binary, a reviewer who never comes, a locked store.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './helpers.js';

type AgentName = 'claude' | 'codex' | 'gemini';
const AGENTS: readonly AgentName[] = ['claude', 'codex', 'gemini'];
const FAKE_AGENT = join(ROOT, 'test', 'hooks', 'fake-agent.mjs');
const FIXTURES = join(ROOT, 'test', 'hooks', 'fixtures');
const GOLDEN = join(ROOT, 'test', 'golden', 'hooks');

const SETTINGS: Record<AgentName, string> = {
  claude: join('.claude', 'settings.json'),
  codex: join('.codex', 'config.toml'),
  gemini: join('.gemini', 'settings.json'),
};
const SHELL_FIXTURE: Record<AgentName, string> = {
  claude: 'claude-bash.json',
  codex: 'codex-bash.json',
  gemini: 'gemini-shell.json',
};
const OTHER_FIXTURE: Record<AgentName, string> = {
  claude: 'claude-write.json',
  codex: 'codex-apply-patch.json',
  gemini: 'gemini-write-file.json',
};
const LABEL: Record<AgentName, string> = { claude: 'claude-code', codex: 'codex', gemini: 'gemini-cli' };

interface Verdict {
  outcome: 'blocked' | 'ran' | 'asked';
  reason: string | null;
  allowed: boolean;
  elapsed_ms: number;
  handlers: { code: number | null; stdout: string; stderr: string; timedOut: boolean; timeoutMs: number }[];
}

interface Project {
  readonly dir: string;
  readonly home: string;
  readonly store: string;
}

function project(): Project {
  const dir = tempDir('policy-gate-agent-');
  return { dir, home: tempDir('policy-gate-home-'), store: join(tempDir('policy-gate-store-'), 'audit.db') };
}

async function install(agent: AgentName, p: Project, extra: string[] = [], warning: unknown = ''): Promise<string> {
  const r = await runCli(['install', agent, '--store', p.store, ...extra], { cwd: p.dir, env: { HOME: p.home } });
  expect(r.stderr).toEqual(warning);
  expect(r.code).toBe(0);
  return r.stdout;
}

function payload(agent: AgentName, p: Project, changes: { command?: unknown; fixture?: string } = {}): string {
  const doc = JSON.parse(readFileSync(join(FIXTURES, changes.fixture ?? SHELL_FIXTURE[agent]), 'utf8'));
  doc.cwd = p.dir;
  if ('command' in changes) doc.tool_input.command = changes.command;
  return JSON.stringify(doc);
}

/** Run the fake agent: it reads the installed settings and runs the hook as the agent would. */
function agentRuns(agent: AgentName, p: Project, body: string, env: Record<string, string> = {}): Promise<Verdict> {
  const file = join(tempDir(), 'payload.json');
  writeFileSync(file, body);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FAKE_AGENT, agent, join(p.dir, SETTINGS[agent]), file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: p.home, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`fake agent exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Verdict);
    });
  });
}

async function records(p: Project): Promise<Record<string, unknown>[]> {
  if (!existsSync(p.store)) return [];
  const r = await runCli(['audit', '--json', '--store', p.store]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** A copy of the shipped policy with another reviewer timeout. */
function policyWithTimeout(seconds: number): string {
  const dir = join(tempDir('policy-gate-policy-'), 'policies');
  cpSync(join(ROOT, 'policies'), dir, { recursive: true });
  const gate = join(dir, 'gate.yaml');
  writeFileSync(
    gate,
    readFileSync(gate, 'utf8').replace(/timeouts:\n {2}default: \d+/, `timeouts:\n  default: ${seconds}`),
  );
  return dir;
}

describe.each(AGENTS)('%s: through the agent', (agent) => {
  it('a whitelisted command runs, recorded with the agent, its session, cwd and the stated intent', async () => {
    const p = project();
    await install(agent, p);
    const v = await agentRuns(agent, p, payload(agent, p));
    expect(v.outcome).toBe('ran');
    // Claude Code and Gemini CLI are told "allow"; Codex takes silence (it rejects a bare allow)
    expect(v.allowed).toBe(agent !== 'codex');
    const [rec] = await records(p);
    const doc = JSON.parse(readFileSync(join(FIXTURES, SHELL_FIXTURE[agent]), 'utf8'));
    expect(rec).toMatchObject({
      decision: 'whitelisted',
      agent: LABEL[agent],
      session_id: doc.session_id,
      cwd: p.dir,
      command: doc.tool_input.command,
      intent: doc.tool_input.description ?? null,
    });
  });

  it('a critical command is blocked inside the agent, with the rule and the command id as the reason', async () => {
    const p = project();
    await install(agent, p);
    const v = await agentRuns(agent, p, payload(agent, p, { command: 'rm -rf /' }));
    expect(v.outcome).toBe('blocked');
    const [rec] = await records(p);
    expect(rec).toMatchObject({ decision: 'denied', command: 'rm -rf /' });
    expect(v.reason).toContain(`command ${rec!.command_id as string}`);
    expect(v.reason).toMatch(/denied by policy rule \S+/);
  });

  it('another tool passes through untouched: no decision, nothing recorded', async () => {
    const p = project();
    await install(agent, p);
    // the installed matcher leaves other tools alone; the hook itself also passes them through
    const v = await agentRuns(agent, p, payload(agent, p, { fixture: OTHER_FIXTURE[agent] }));
    expect(v.outcome).toBe('ran');
    const direct = await runCli(['hook', agent, '--store', p.store], {
      stdin: payload(agent, p, { fixture: OTHER_FIXTURE[agent] }),
      cwd: p.dir,
    });
    expect(direct).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await records(p)).toEqual([]);
  });

  it('a malformed payload is blocked, saying what was wrong', async () => {
    const p = project();
    await install(agent, p);
    const tool = JSON.parse(payload(agent, p)).tool_name as string;
    const v = await agentRuns(agent, p, `{"tool_name": "${tool}", "tool_input": {"command": "ls"`, {
      FAKE_AGENT_TOOL: tool,
    });
    expect(v.outcome).toBe('blocked');
    expect(v.reason).toMatch(/hook payload: not JSON/);
  });

  it('a shell call of an unknown shape (no command string) is blocked', async () => {
    const p = project();
    await install(agent, p);
    const v = await agentRuns(agent, p, payload(agent, p, { command: { argv: 'ls' } }));
    expect(v.outcome).toBe('blocked');
    expect(v.reason).toMatch(/tool_input\.command/);
  });

  it('a gate that crashes on start is blocked (the installed wrapper turns its exit into a block)', async () => {
    const p = project();
    await install(agent, p);
    // node itself fails before policy-gate runs: exit 1 and a stack trace, a non-blocking error to every agent
    const v = await agentRuns(agent, p, payload(agent, p), {
      FAKE_AGENT_HOOK_ENV: JSON.stringify({ NODE_OPTIONS: '--require /nonexistent/crash.cjs' }),
    });
    expect(v.handlers[0]!.code).toBe(2);
    expect(v.outcome).toBe('blocked');
    expect(v.reason).toContain('policy-gate hook failed (exit 1)');
  });

  it('a hook binary that is not there (127) is blocked, not silently skipped', async () => {
    const p = project();
    await install(agent, p, ['--bin', join(p.dir, 'no-such-policy-gate')]);
    const v = await agentRuns(agent, p, payload(agent, p));
    expect(v.outcome).toBe('blocked');
    expect(v.reason).toContain('policy-gate hook failed (exit 127)');
  });

  it('a held command nobody reviews is denied as timed out, before the agent gives up on the hook', async () => {
    const p = project();
    await install(agent, p, ['--policy', policyWithTimeout(2)]);
    const v = await agentRuns(agent, p, payload(agent, p, { command: 'npm publish' }));
    expect(v.handlers[0]!.timedOut).toBe(false);
    expect(v.outcome).toBe('blocked');
    expect(v.reason).toMatch(/timed out, no reviewer decided/);
    const [rec] = await records(p);
    expect(rec).toMatchObject({ decision: 'timed_out', command: 'npm publish', agent: LABEL[agent] });
  });
});

describe('hook deadlines', () => {
  it("a reviewer wait longer than the agent's hook timeout is cut short: denied and recorded as timed out", async () => {
    const p = project();
    // gate.yaml gives reviewers 60 s; the agent kills its hook after 12 s
    await install(
      'claude',
      p,
      ['--agent-timeout', '12'],
      'policy-gate: warning: with an agent timeout of 12 s the gate answers within 9 s, before the longest ' +
        'reviewer wait (60 s) ends: held commands will be denied early\n',
    );
    const v = await agentRuns('claude', p, payload('claude', p, { command: 'npm publish' }));
    expect(v.handlers[0]!.timedOut).toBe(false);
    expect(v.outcome).toBe('blocked');
    const [rec] = await records(p);
    expect(rec).toMatchObject({ decision: 'timed_out' });
    expect(Date.parse(rec!.deadline as string) - Date.parse(rec!.submitted_at as string)).toBeLessThan(12_000);
  });

  it('a store locked by another process: blocked with the reason, before the agent gives up', async () => {
    const p = project();
    await install(
      'gemini',
      p,
      ['--agent-timeout', '30'],
      expect.stringContaining('held commands will be denied early'),
    );
    expect((await agentRuns('gemini', p, payload('gemini', p))).outcome).toBe('ran'); // creates the store
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(p.store)});
         db.exec('BEGIN EXCLUSIVE'); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        holder.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
      });
      const v = await agentRuns('gemini', p, payload('gemini', p, { command: 'git status' }));
      expect(v.handlers[0]!.timedOut).toBe(false);
      expect(v.outcome).toBe('blocked');
      expect(v.reason).toMatch(/policy-gate could not check this command: .*(lock|busy)/i);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('the fake agent fails open as the real ones do: without the wrapper, a missing binary lets the command run', async () => {
    const p = project();
    await install('claude', p, ['--bin', join(p.dir, 'no-such-policy-gate')]);
    const file = join(p.dir, SETTINGS.claude);
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    const handler = settings.hooks.PreToolUse[0].hooks[0];
    handler.command = handler.command.replace(/ \|\| \{.*\}$/, '');
    writeFileSync(file, JSON.stringify(settings));
    const v = await agentRuns('claude', p, payload('claude', p));
    expect(v.outcome).toBe('ran');
  });
});

describe('answers in each agent’s format (golden)', () => {
  it.each(AGENTS)('%s: allow and deny', async (agent) => {
    const p = project();
    const run = async (command: string): Promise<string> => {
      const r = await runCli(['hook', agent, '--store', p.store], {
        stdin: payload(agent, p, { command }),
        cwd: p.dir,
      });
      return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
    };
    const text = `${await run('git status')}\n${await run('rm -rf /')}`.replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, '<ID>');
    const golden = join(GOLDEN, `${agent}.txt`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });
});
