/**
 * Where the store is: --store, else POLICY_GATE_STORE, else the nearest `.policy-gate/` in the
 * working directory or above, else `$HOME/.policy-gate/audit.db`. Commands that read the trail
 * never create a store (nor its directory, nor the gate's key) where there is none: they fail
 * naming the path and how it was found. Real directories, the CLI in process.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStoreSource, resolveLocations, type LocationInputs } from '../engine/index.js';
import { homeFor, runCli, tempDir, userStore } from './helpers.js';
import { ALICE, keyFor, reviewPolicyDir } from './review-fixture.js';

const NOON = '2026-01-07T12:00:00Z';

/** A project with its own store marker, a nested working directory in it, and a home elsewhere. */
function layout(): { project: string; nested: string; home: string } {
  const project = tempDir('policy-gate-project-');
  mkdirSync(join(project, '.policy-gate'));
  const nested = join(project, 'src', 'deep', 'er');
  mkdirSync(nested, { recursive: true });
  return { project, nested, home: tempDir('policy-gate-home-') };
}

/** The search stops at the temporary directory: a `.policy-gate/` above it (in `/`) is not the test's. */
function find(inputs: Partial<LocationInputs> & Pick<LocationInputs, 'cwd'>): { store: string; source: string } {
  const loc = resolveLocations({ ...inputs, env: { POLICY_GATE_CEILING_DIRECTORIES: tmpdir(), ...inputs.env } });
  return { store: loc.store, source: loc.storeSource };
}

describe('store discovery', () => {
  it('--store beats POLICY_GATE_STORE beats the nearest .policy-gate/ beats the per-user default', () => {
    const { project, nested, home } = layout();
    const flag = join(tempDir(), 'flag.db');
    const env = { POLICY_GATE_STORE: join(tempDir(), 'env.db') };
    expect(find({ cwd: nested, home, env, store: flag })).toEqual({ store: flag, source: 'flag' });
    expect(find({ cwd: nested, home, env })).toEqual({ store: env.POLICY_GATE_STORE, source: 'env' });
    expect(find({ cwd: nested, home })).toEqual({
      store: join(project, '.policy-gate', 'audit.db'),
      source: 'discovered',
    });
    const elsewhere = tempDir();
    expect(find({ cwd: elsewhere, home })).toEqual({
      store: join(home, '.policy-gate', 'audit.db'),
      source: 'user-default',
    });
    // relative paths are taken from the working directory; an empty flag or variable is unset
    expect(find({ cwd: nested, home, store: 'x.db' }).store).toBe(join(nested, 'x.db'));
    expect(find({ cwd: nested, home, env: { POLICY_GATE_STORE: '' }, store: '' }).source).toBe('discovered');
  });

  it('a store with a scheme is never a path: sqlite:PATH is the path, an unknown scheme is an error', async () => {
    const { nested, home } = layout();
    const file = join(tempDir(), 'a.db');
    expect(find({ cwd: nested, home, store: `sqlite:${file}` })).toEqual({ store: file, source: 'flag' });
    expect(find({ cwd: nested, home, env: { POLICY_GATE_STORE: `sqlite:${file}` } })).toEqual({
      store: file,
      source: 'env',
    });
    expect(() => find({ cwd: nested, home, store: 'mysql://db.example/gate' })).toThrow(
      /unknown store scheme "mysql:"/,
    );
    // a PostgreSQL URL names a database, not a path; a gate that cannot reach it refuses the
    // command (exit 2) without repeating the password, and creates nothing under "postgres:"
    const cwd = tempDir();
    const url = 'postgres://gate:s3cret@db.invalid:5432/trail';
    expect(find({ cwd: nested, home, store: url })).toEqual({
      store: 'postgres://gate:***@db.invalid:5432/trail',
      source: 'flag',
    });
    const r = await runCli(['check', '--store', url, '--', 'ls'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/audit store postgres:\/\/gate:\*\*\*@db\.invalid:5432\/trail: cannot open it/);
    expect(r.stderr).not.toContain('s3cret');
    expect(readdirSync(cwd)).toEqual([]);
    // nor is it written into an agent's settings: install refuses it; without one the URL is kept whole
    const install = await runCli(['install', 'claude', '--project', '--dry-run', '--store', url], { cwd });
    expect(install.code).toBe(2);
    expect(install.stderr).toMatch(/carries a password.*PGPASSWORD/);
    expect(install.stderr).not.toContain('s3cret');
    const plain = 'postgres://gate@db.invalid:5432/trail';
    const hook = await runCli(['install', 'claude', '--project', '--dry-run', '--store', plain], { cwd });
    expect(hook.code).toBe(0);
    expect(hook.stdout).toContain(`--store ${plain}`);
  });

  it('the directory marks the store, with or without audit.db in it; the home one is the user default', () => {
    const { project, nested, home } = layout();
    expect(readdirSync(join(project, '.policy-gate'))).toEqual([]);
    expect(find({ cwd: nested, home }).source).toBe('discovered');
    // a project inside the home directory: its own store first, the home one above it
    const inHome = join(home, 'work', 'app');
    mkdirSync(join(home, '.policy-gate'), { recursive: true });
    mkdirSync(inHome, { recursive: true });
    expect(find({ cwd: inHome, home })).toEqual({
      store: join(home, '.policy-gate', 'audit.db'),
      source: 'user-default',
    });
    mkdirSync(join(home, 'work', '.policy-gate'));
    expect(find({ cwd: inHome, home })).toEqual({
      store: join(home, 'work', '.policy-gate', 'audit.db'),
      source: 'discovered',
    });
  });

  it('passes over a .policy-gate/ another user owns, a file of that name, and ceiling directories', () => {
    const { project, nested, home } = layout();
    const owner = statSync(join(project, '.policy-gate')).uid;
    expect(find({ cwd: nested, home, uid: owner }).source).toBe('discovered');
    expect(find({ cwd: nested, home, uid: owner + 1 }).source).toBe('user-default');
    const ceiling = { POLICY_GATE_CEILING_DIRECTORIES: `relative/ignored:${join(project, 'src')}` };
    expect(find({ cwd: nested, home, env: ceiling }).source).toBe('user-default');
    // the working directory itself is always looked at, ceiling or not
    expect(find({ cwd: project, home, env: { POLICY_GATE_CEILING_DIRECTORIES: project } }).source).toBe('discovered');
    // a file named .policy-gate is not a store directory
    const plain = tempDir();
    mkdirSync(join(plain, 'a'));
    writeFileSync(join(plain, '.policy-gate'), '');
    expect(find({ cwd: join(plain, 'a'), home }).source).toBe('user-default');
  });

  it('with nothing found and no home directory there is no store to use: exit 2, never a guess', async () => {
    const cwd = tempDir();
    expect(() => find({ cwd })).toThrow(/no audit store: no \.policy-gate\/ in .* and no home directory/);
    expect(describeStoreSource({ store: '/x/.policy-gate/audit.db', storeSource: 'discovered' })).toMatch(
      /nearest \.policy-gate\//,
    );
  });

  it('a check from a subdirectory of a project records into the project store', async () => {
    const { project, nested } = layout();
    const r = await runCli(['check', '--json', '--now', NOON, '--', 'git status'], { cwd: nested });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(project, '.policy-gate'))).toContain('audit.db');
    expect(readdirSync(homeFor(nested))).toEqual([]);
    // and every reader run from anywhere in the project finds it
    const audit = await runCli(['audit', '--json'], { cwd: join(project, 'src') });
    expect(JSON.parse(audit.stdout).map((c: { command: string }) => c.command)).toEqual(['git status']);
  });

  it('outside any project a check records into the per-user default store', async () => {
    const cwd = tempDir();
    const r = await runCli(['check', '--json', '--now', NOON, '--', 'git status'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(userStore(cwd)).isFile()).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('readers of a missing store', () => {
  const readers: [string, string[]][] = [
    ['review list', ['review', 'list']],
    ['review show', ['review', 'show', '01ANYCOMMAND']],
    ['review approve', ['review', 'approve', '01ANYCOMMAND', '--reviewer', 'alice', '--key', keyFor('alice').file]],
    ['review deny', ['review', 'deny', '01ANYCOMMAND', '--reviewer', 'alice', '--reason', 'no']],
    ['review statement', ['review', 'statement', '01ANYCOMMAND', 'approve', '--reviewer', 'alice']],
    ['audit', ['audit']],
    ['audit export', ['audit', 'export', '--format', 'jsonl']],
    ['audit export --bundle', ['audit', 'export', '--bundle', 'out.json']],
    ['verify', ['verify']],
    ['status', ['status', '01ANYCOMMAND']],
    ['wait', ['wait', '01ANYCOMMAND']],
    ['session show', ['session', 'show', 's1']],
    ['play', ['play', '01ANYCOMMAND']],
    ['report', ['report']],
    ['checkpoint export', ['checkpoint', 'export']],
    ['checkpoint rotate-key', ['checkpoint', 'rotate-key']],
    ['whitelist propose', ['whitelist', 'propose', '01ANYCOMMAND']],
  ];

  it.each(readers)('%s: exit 2 naming the path and how it was found; nothing is created', async (_name, argv) => {
    const cwd = tempDir();
    const env = { POLICY_GATE_POLICY: reviewPolicyDir([ALICE]) };
    const r = await runCli(argv, { cwd, env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`no audit store at ${userStore(cwd)} (found via the per-user default`);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('policy-gate:'))).toHaveLength(1);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(homeFor(cwd))).toEqual([]);
  });

  it('the interactive queue too: its store is checked before it asks for a terminal', async () => {
    const cwd = tempDir();
    const r = await runCli(['review', '--reviewer', 'alice'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no audit store at ${userStore(cwd)}`);
    expect(readdirSync(homeFor(cwd))).toEqual([]);
  });

  it('a discovered project store that has no audit.db yet is named as such, and stays empty', async () => {
    const { project, nested } = layout();
    const r = await runCli(['review', 'list'], { cwd: nested });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no audit store at ${join(project, '.policy-gate', 'audit.db')} (found via the nearest`);
    expect(readdirSync(join(project, '.policy-gate'))).toEqual([]);
    const flagged = join(tempDir(), 'none', 'audit.db');
    const viaFlag = await runCli(['audit', '--store', flagged], { cwd: nested });
    expect(viaFlag.stderr).toContain(`no audit store at ${flagged} (found via --store)`);
    const viaEnv = await runCli(['verify'], { cwd: nested, env: { POLICY_GATE_STORE: flagged } });
    expect(viaEnv.stderr).toContain(`no audit store at ${flagged} (found via POLICY_GATE_STORE)`);
  });
});
