/**
 * What a person waiting for a reviewer sees: with stderr on a real terminal (script(1) gives the
 * built bin a pseudo-terminal; its stdout goes to a file), a held check, exec or wait shows the
 * command's id, where to review it and a countdown redrawn in place, cleared when a reviewer
 * decides; with --quiet or a stderr that is not a terminal, nothing but the result. Decisions
 * are written by another store connection, as a reviewer's would be.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, shellJoin, type CommandRecord } from '../engine/index.js';
import { decided } from './audit-store-contract.js';
import { BIN, runCli, tempDir, waitFor } from './helpers.js';

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
});

interface Place {
  readonly cwd: string;
  readonly store: string;
  /** Where the bin's stdout goes. */
  readonly stdout: string;
}

function place(): Place {
  const dir = tempDir();
  return { cwd: tempDir(), store: join(dir, 'audit.db'), stdout: join(dir, 'stdout') };
}

interface Terminal {
  /** Everything written to the terminal so far (the bin's stderr), escapes included. */
  raw(): string;
  /** The same without colours and cursor sequences. */
  plain(): string;
  readonly exit: Promise<number>;
}

/** Run the bin with stderr on a pseudo-terminal and stdout into `t.stdout`. */
function inTerminal(args: string[], t: Place, env: Record<string, string> = {}): Terminal {
  const vars = Object.entries({ TERM: 'xterm', POLICY_GATE_STORE: t.store, ...env })
    .map(([k, v]) => `${k}=${shellJoin([v])}`)
    .join(' ');
  const cmd = `env ${vars} ${shellJoin([process.execPath, BIN, ...args])} > ${shellJoin([t.stdout])}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    cwd: t.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
  const exit = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  // the terminal's input stays open until the bin is done, as a person's would
  void exit.then(() => child.stdin.end());
  return { raw: () => screen, plain: () => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), exit };
}

const COUNTDOWN = /waiting for a reviewer: (\S+) left/g;

/** The countdown values shown so far, in order, each once. */
function countdown(term: Terminal): string[] {
  return [...new Set([...term.plain().matchAll(COUNTDOWN)].map((m) => m[1]!))];
}

async function approve(store: string, id: string): Promise<void> {
  const s = openSqliteStore(store);
  try {
    expect(await s.decide(decided(id, new Date().toISOString(), 'approved', 'alice'))).not.toBeNull();
  } finally {
    await s.close();
  }
}

/** The pending command in `store`, once there is one (the store may still be being created). */
async function pendingIn(store: string): Promise<CommandRecord | null> {
  let s;
  try {
    s = openSqliteStore(store, { readonly: true });
  } catch {
    return null;
  }
  try {
    return (await s.commands()).find((r) => r.decision === 'pending') ?? null;
  } finally {
    await s.close();
  }
}

/** The id the notice names, once it has named it, and the countdown has shown two values. */
async function heldAndCounting(term: Terminal): Promise<string> {
  const id = await waitFor(
    'the notice to name where to review',
    () => term.plain().match(/review it: policy-gate review show (\w+)/)?.[1],
  );
  await waitFor('the countdown to change', () => countdown(term).length >= 2);
  return id;
}

/** The countdown's line was cleared last: nothing was drawn after the decision. */
function endsCleared(term: Terminal): void {
  expect(term.raw().endsWith('\r\x1b[2K')).toBe(true);
}

describe('a held command on a terminal', () => {
  it('check: id, risk, why, where to review, a countdown that runs, cleared when a reviewer decides', async () => {
    const t = place();
    const term = inTerminal(['check', '--json', '--timeout', '600', '--', 'npm publish'], t);
    const id = await heldAndCounting(term);
    const text = term.plain();
    expect(text).toMatch(new RegExp(`HELD for review  risk \\d+/100 \\w+  ${id}`));
    expect(text).toContain('$ npm publish');
    expect(text).toContain('not whitelisted: no whitelist rule covers `npm publish`');
    // redrawn in place, not line after line
    expect(term.raw()).toMatch(/left .*\r\x1b\[2K {2}waiting for a reviewer/);
    const [first, second] = countdown(term);
    expect(first).toMatch(/^(9|10)m\d\ds$/);
    expect(second).not.toBe(first);
    await approve(t.store, id);
    expect(await term.exit).toBe(0);
    endsCleared(term);
    // stdout is the result alone
    const out = readFileSync(t.stdout, 'utf8');
    expect(out.split('\n')).toHaveLength(2);
    expect(JSON.parse(out)).toMatchObject({ command_id: id, decision: 'approved', decided_by: 'alice' });
  });

  it('exec: the notice while it waits, then the command runs with its output on stdout', async () => {
    const t = place();
    const term = inTerminal(['exec', '--timeout', '600', '--', 'echo ran > marker; cat marker'], t);
    const id = await heldAndCounting(term);
    expect(existsSync(join(t.cwd, 'marker'))).toBe(false);
    await approve(t.store, id);
    expect(await term.exit).toBe(0);
    expect(readFileSync(t.stdout, 'utf8')).toBe('ran\n');
    expect(term.plain()).toContain(`review it: policy-gate review show ${id}`);
    endsCleared(term);
  });

  it('wait ID: the notice for a --no-wait submission, until the decision; NO_COLOR: no colours', async () => {
    const t = place();
    const submitted = await runCli(
      ['check', '--json', '--no-wait', '--timeout', '600', '--store', t.store, '--', 'npm publish'],
      { cwd: t.cwd },
    );
    expect(submitted.code).toBe(3);
    const { command_id: id } = JSON.parse(submitted.stdout) as CommandRecord;
    const term = inTerminal(['wait', id, '--json'], t, { NO_COLOR: '1' });
    expect(await heldAndCounting(term)).toBe(id);
    await approve(t.store, id);
    expect(await term.exit).toBe(0);
    endsCleared(term);
    expect(term.raw()).not.toMatch(/\x1b\[[0-9;]*m/);
    expect(JSON.parse(readFileSync(t.stdout, 'utf8'))).toMatchObject({ command_id: id, decision: 'approved' });
  });
});

describe('nothing but the result', () => {
  it('--quiet on a terminal: nothing on stderr', async () => {
    const t = place();
    const term = inTerminal(['check', '--quiet', '--json', '--timeout', '600', '--', 'npm publish'], t);
    const held = await waitFor('the command to be held', () => pendingIn(t.store));
    await approve(t.store, held.command_id);
    expect(await term.exit).toBe(0);
    // the notice would have been written before the wait began, so before the approval
    expect(term.raw()).toBe('');
    expect(JSON.parse(readFileSync(t.stdout, 'utf8'))).toMatchObject({ decision: 'approved' });
  });

  it('stderr not a terminal: nothing on stderr, the same stdout', async () => {
    const t = place();
    const waiting = runCli(['check', '--timeout', '600', '--store', t.store, '--', 'npm publish'], { cwd: t.cwd });
    const held = await waitFor('the command to be held', () => pendingIn(t.store));
    await approve(t.store, held.command_id);
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^APPROVED {2}risk/);
    expect(r.stdout).not.toContain('waiting for a reviewer');
  });
});
