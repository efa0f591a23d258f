/**
 * The CLI on a PostgreSQL trail, against a real server: `store migrate` (explicit, versioned,
 * refusing a newer schema), the gate's role limited to reading and appending, check / audit /
 * verify / report / export --bundle / status unchanged against it, `store copy` from SQLite with
 * the same chain head on both sides, and gate.yaml's `store:` naming the trail.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, POLICY_DIR, runBin, runCli, tempDir, waitFor } from './helpers.js';
import { ALICE, keyFor, reviewPolicyDir } from './review-fixture.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

function database(name: string, user = 'gate'): string {
  pg.sql(`CREATE DATABASE ${name}`);
  return `postgresql://${user}@127.0.0.1:${pg.port}/${name}`;
}

function json(stdout: string): any {
  return JSON.parse(stdout);
}

describe('store migrate', () => {
  it('is explicit: a gate refuses an unmigrated database, migrate applies the schema once, then it is current', async () => {
    const url = database('fresh');
    const env = { POLICY_GATE_STATE: tempDir() };
    const before = await runCli(['check', '--store', url, '--', 'ls'], { env });
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/has no policy-gate schema/);
    expect(before.stderr).toMatch(/policy-gate store migrate/);
    const first = await runCli(['store', 'migrate', '--store', url, '--json'], { env });
    expect(first.code).toBe(0);
    expect(json(first.stdout)).toMatchObject({ backend: 'postgres', from: 0, to: 1 });
    const again = await runCli(['store', 'migrate', '--store', url], { env });
    expect(again.stdout).toMatch(/schema at version 1, current/);
    // migrating appends nothing: the first gate begins the trail (GATE_START and a checkpoint)
    expect(pg.sql('SELECT count(*) FROM policy_gate.events', 'fresh')).toBe('0');
    expect((await runCli(['check', '--store', url, '--', 'ls'], { env })).code).toBe(0);
    expect(pg.sql('SELECT type FROM policy_gate.events ORDER BY seq', 'fresh').split('\n')).toEqual([
      'GATE_START',
      'SUBMITTED',
      'DECIDED',
    ]);
  });

  it('refuses a schema newer than this gate knows, and changes nothing', async () => {
    const url = database('newer');
    const env = { POLICY_GATE_STATE: tempDir() };
    expect((await runCli(['store', 'migrate', '--store', url], { env })).code).toBe(0);
    pg.sql('INSERT INTO policy_gate.schema_version (version) VALUES (99)', 'newer');
    const check = await runCli(['check', '--store', url, '--', 'ls'], { env });
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/version 99, newer than this gate knows/);
    const migrate = await runCli(['store', 'migrate', '--store', url], { env });
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toMatch(/newer than this gate knows.*\n.*nothing was changed/);
    expect(pg.sql('SELECT max(version) FROM policy_gate.schema_version', 'newer')).toBe('99');
  });

  it('--grant: the gate role reads and appends; it cannot update, delete or move the chain head', async () => {
    pg.sql('CREATE ROLE agent_gate LOGIN');
    const owner = database('granted');
    const asGate = `postgresql://agent_gate@127.0.0.1:${pg.port}/granted`;
    const env = { POLICY_GATE_STATE: tempDir() };
    expect((await runCli(['store', 'migrate', '--store', owner, '--grant', 'agent_gate'], { env })).code).toBe(0);
    const check = await runCli(['check', '--store', asGate, '--', 'rm -rf /'], { env });
    expect(check.code).toBe(1); // denied, and recorded by the limited role
    expect((await runCli(['verify', '--store', asGate], { env })).code).toBe(0);
    for (const statement of [
      "UPDATE policy_gate.events SET type = 'X'",
      'DELETE FROM policy_gate.events',
      'UPDATE policy_gate.head SET seq = 100',
      'DELETE FROM policy_gate.checkpoints',
    ])
      expect(() => pg.sql(`SET ROLE agent_gate; ${statement}`, 'granted')).toThrow(/permission denied/);
    // even its owner cannot rewrite the trail: the triggers are a second line
    expect(() => pg.sql("UPDATE policy_gate.events SET type = 'X'", 'granted')).toThrow(/append-only/);
  });
});

describe('the CLI on a PostgreSQL trail', () => {
  it('check, status, audit, verify, report and export --bundle work as on SQLite', async () => {
    const url = database('cli');
    const cwd = tempDir();
    const env = { POLICY_GATE_STORE: url, POLICY_GATE_STATE: join(cwd, 'state') };
    expect((await runCli(['store', 'migrate'], { env, cwd })).code).toBe(0);
    const ok = await runCli(['check', '--json', '--', 'git status'], { env, cwd });
    expect(ok.code).toBe(0);
    const id = json(ok.stdout).command_id;
    expect((await runCli(['check', '--', 'rm -rf /'], { env, cwd })).code).toBe(1);
    const status = await runCli(['status', '--json', id], { env, cwd });
    expect(json(status.stdout)).toMatchObject({ command_id: id, decision: 'whitelisted' });
    const audit = await runCli(['audit', '--json'], { env, cwd });
    expect(json(audit.stdout).map((r: any) => r.decision)).toEqual(['whitelisted', 'denied']);
    const verify = await runCli(['verify', '--json'], { env, cwd });
    expect(verify.code).toBe(0);
    expect(json(verify.stdout)).toMatchObject({ ok: true, events: 5, commands: 2 });
    const report = await runCli(['report', '--format', 'md'], { env, cwd });
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/VERIFIED: 5 events/);
    const bundle = join(cwd, 'evidence.json');
    expect((await runCli(['audit', 'export', '--bundle', bundle], { env, cwd })).code).toBe(0);
    const offline = await runCli(['verify', '--bundle', bundle, '--json'], { cwd: tempDir() });
    expect(offline.code).toBe(0);
    // the store is the database: nothing was written under the working directory but the state asked for
    expect(readdirSync(cwd).sort()).toEqual(['evidence.json', 'state']);
    expect(readdirSync(join(cwd, 'state'))).toEqual(expect.arrayContaining(['gate.key', 'trusted-keys']));
  });

  it('gate.yaml store: names the trail when neither --store nor POLICY_GATE_STORE does', async () => {
    const url = database('policystore');
    const policy = join(tempDir(), 'policy');
    cpSync(POLICY_DIR, policy, { recursive: true });
    writeFileSync(join(policy, 'gate.yaml'), `${readFileSync(join(policy, 'gate.yaml'), 'utf8')}\nstore: ${url}\n`);
    const cwd = tempDir();
    const env = { POLICY_GATE_STATE: join(cwd, 'state') };
    const migrated = await runCli(['store', 'migrate', '--policy', policy], { env, cwd });
    expect(migrated.stderr).toBe('');
    const r = await runCli(['check', '--policy', policy, '--', 'ls'], { env, cwd });
    expect(r.code).toBe(0);
    expect(pg.sql("SELECT count(*) FROM policy_gate.events WHERE type = 'SUBMITTED'", 'policystore')).toBe('1');
    expect(existsSync(join(cwd, '.policy-gate'))).toBe(false);
    // a password does not belong in a policy repository
    writeFileSync(
      join(policy, 'gate.yaml'),
      `${readFileSync(join(policy, 'gate.yaml'), 'utf8')}`.replace(url, url.replace('gate@', 'gate:pw@')),
    );
    const refused = await runCli(['check', '--policy', policy, '--', 'ls'], { env, cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/store: a URL with a password/);
    // another scheme is named as gate.yaml's, not as a --store the user never gave
    writeFileSync(
      join(policy, 'gate.yaml'),
      readFileSync(join(policy, 'gate.yaml'), 'utf8').replace(/^store: .*$/m, 'store: mysql://db/trail'),
    );
    const scheme = await runCli(['check', '--policy', policy, '--', 'ls'], { env, cwd });
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/gate\.yaml: store: expected postgres:\/\/… or sqlite:PATH/);
  });
});

describe('waiting on a PostgreSQL trail', () => {
  it('a check waiting in one process unblocks when a reviewer approves in another: the decision comes by NOTIFY', async () => {
    const url = database('waiting');
    const cwd = tempDir();
    const policy = reviewPolicyDir([ALICE], {
      'context.off_hours.working_days': ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
      'context.off_hours.start': '00:00',
      'context.off_hours.end': '23:59',
    });
    const env = { POLICY_GATE_STORE: url, POLICY_GATE_POLICY: policy, POLICY_GATE_STATE: join(cwd, 'state') };
    expect((await runCli(['store', 'migrate'], { env, cwd })).code).toBe(0);
    const agent = spawn(process.execPath, [BIN, 'check', '--json', '--timeout', '120', '--', 'npm publish'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    agent.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => agent.on('close', resolve));
    try {
      const id = await waitFor('the held command', () =>
        pg.sql("SELECT command_id FROM policy_gate.events WHERE type = 'SUBMITTED'", 'waiting'),
      );
      // the waiting check listens on a connection of its own rather than polling the trail
      await waitFor(
        'the check listening',
        () => pg.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'policy-gate listen'") === '1',
      );
      const approved = await runBin(['review', 'approve', id, '--reviewer', 'alice', '--key', keyFor('alice').file], {
        cwd,
        env,
      });
      expect(approved.code).toBe(0);
      expect(await exited).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ command_id: id, decision: 'approved', decided_by: 'alice' });
    } finally {
      agent.kill();
    }
  });
});

describe('store copy', () => {
  it('moves a SQLite trail byte for byte: verify passes on both sides with the same chain head', async () => {
    const dir = tempDir();
    const file = join(dir, '.policy-gate', 'audit.db');
    for (const command of ['ls', 'git status', 'rm -rf /', 'cat README.md'])
      await runCli(['check', '--store', file, '--', command], { cwd: dir });
    const url = database('copied');
    const env = { POLICY_GATE_STATE: join(tempDir(), 'state') };
    const copy = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', url, '--json'], { env });
    expect(copy.code).toBe(0);
    const copied = json(copy.stdout);
    expect(copied).toMatchObject({ copied: copied.events, keys: ['trusted-keys', 'gate.key'] });
    expect(copied.checkpoints).toBeGreaterThan(0);
    const a = json((await runCli(['verify', '--store', file, '--json'], { cwd: dir })).stdout);
    const b = json((await runCli(['verify', '--store', url, '--json'], { env })).stdout);
    expect(a.ok && b.ok).toBe(true);
    expect(b).toMatchObject({ events: a.events, commands: a.commands, checkpoints: a.checkpoints, head: a.head });
    expect(a.head).toMatch(/^[0-9a-f]{64}$/);
    // the same bytes, not re-encoded ones
    const sqliteLeaves = json(
      (await runCli(['audit', 'export', '--format', 'jsonl', '--store', file], { cwd: dir })).stdout.split('\n')[0]!,
    );
    expect(pg.sql("SELECT encode(leaf, 'hex') FROM policy_gate.events WHERE seq = 1", 'copied')).toBe(
      sqliteLeaves.leaf,
    );
    // copied again: nothing to add (a prefix is resumed, the same trail is left alone)
    const again = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', url, '--json'], { env });
    expect(json(again.stdout)).toMatchObject({ copied: 0, checkpoints: 0 });
    // the trail goes on in PostgreSQL, signed by the same key
    expect((await runCli(['check', '--store', url, '--', 'ls'], { env })).code).toBe(0);
    expect((await runCli(['verify', '--store', url], { env })).code).toBe(0);
    // into a store that holds another trail: refused
    const other = join(tempDir(), 'other.db');
    await runCli(['check', '--store', other, '--', 'pwd']);
    const refused = await runCli(['store', 'copy', '--from', `sqlite:${file}`, '--to', other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds another trail/);
  });
});
