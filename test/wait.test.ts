/**
 * `wait` and `status`: a --no-wait submission can be waited for again, and its state read,
 * with check's exit codes. Real store, the CLI in process, decisions written by another
 * connection as a reviewer's would be.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../engine/index.js';
import { decided } from './audit-store-contract.js';
import { runCli, tempDir } from './helpers.js';

async function pendingCommand(extra: string[] = []): Promise<{ id: string; store: string; cwd: string }> {
  const cwd = tempDir();
  const store = join(tempDir(), 'audit.db');
  const r = await runCli(['check', '--json', '--no-wait', '--store', store, ...extra, '--', 'npm publish'], { cwd });
  expect(r.code).toBe(3);
  return { id: JSON.parse(r.stdout).command_id as string, store, cwd };
}

async function approve(store: string, id: string): Promise<void> {
  const s = openSqliteStore(store);
  try {
    expect(await s.decide(decided(id, new Date().toISOString(), 'approved', 'alice'))).not.toBeNull();
  } finally {
    await s.close();
  }
}

describe('status', () => {
  it('a pending command: exit 3, the time left and where to review it; decided: its decision', async () => {
    const { id, store, cwd } = await pendingCommand();
    const pending = await runCli(['status', id, '--store', store], { cwd });
    expect(pending.code).toBe(3);
    expect(pending.stdout).toContain('PENDING');
    expect(pending.stdout).toContain(`policy-gate review show ${id}`);
    expect(pending.stdout).toMatch(/left/);
    await approve(store, id);
    const done = await runCli(['status', id, '--store', store, '--json'], { cwd });
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ command_id: id, decision: 'approved', decided_by: 'alice' });
  });

  it('an unknown command: exit 2, naming the store it looked in', async () => {
    const { store, cwd } = await pendingCommand();
    const r = await runCli(['status', '01NOSUCHCOMMAND', '--store', store], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(store);
  });
});

describe('wait', () => {
  it('--timeout ends the wait with the command still pending (exit 3); nothing is decided', async () => {
    const { id, store, cwd } = await pendingCommand();
    const r = await runCli(['wait', id, '--timeout', '0.2', '--store', store, '--json'], { cwd });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).decision).toBe('pending');
  });

  it('returns the decision made while it waits: exit 0 for an approval', async () => {
    const { id, store, cwd } = await pendingCommand();
    const waiting = runCli(['wait', id, '--store', store, '--json'], { cwd });
    await new Promise((r) => setTimeout(r, 300));
    await approve(store, id);
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'approved', decided_by: 'alice' });
  });

  it('a command nobody decides by its deadline is recorded as timed out: exit 1', async () => {
    const { id, store, cwd } = await pendingCommand(['--timeout', '0.5']);
    const r = await runCli(['wait', id, '--store', store, '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
    // recorded in the trail, once
    const s = openSqliteStore(store, { readonly: true });
    try {
      const events = await s.commandEvents(id);
      expect(events.filter((e) => e.type === 'DECIDED')).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('an already decided command answers at once', async () => {
    const { id, store, cwd } = await pendingCommand();
    await approve(store, id);
    const r = await runCli(['wait', id, '--store', store], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('APPROVED');
    expect(r.stdout).toContain('next: run it.');
  });

  it('an unknown command: exit 2', async () => {
    const { store, cwd } = await pendingCommand();
    const r = await runCli(['wait', '01NOSUCHCOMMAND', '--store', store], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no command 01NOSUCHCOMMAND');
  });

  it('a missing store is not created: exit 2, naming where it looked', async () => {
    const cwd = tempDir();
    const store = join(tempDir(), 'none', 'audit.db');
    const r = await runCli(['wait', '01ANYCOMMAND', '--store', store], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(store);
    expect(existsSync(store)).toBe(false);
  });
});
