/**
 * Fault injection, as an operator's worst day would bring it: a lock held past the timeout and a
 * full disk while a command runs, a trail truncated and re-signed, protections dropped, random
 * bytes in the middle of the file, another application's database, read-only media, huge
 * inputs, a deleted working directory, pending commands nobody decides, spooled failures whose
 * writer died. Real files, real processes, real mounts where the machine allows. Each case
 * asserts the exit code, what the trail holds afterwards, and that `verify` tells the truth.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type CommandRecord, type StoredEvent } from '../engine/index.js';
import { fallbackSpool } from '../engine/audit/spool.js';
import { BIN, ROOT, runBin, tempDir, waitFor } from './helpers.js';
import { ALICE, keyFor, reviewPolicyDir } from './review-fixture.js';

interface Gate {
  readonly cwd: string;
  readonly store: string;
  readonly env: Record<string, string>;
  bin(
    args: string[],
    options?: { stdin?: string; env?: Record<string, string>; cwd?: string },
  ): ReturnType<typeof runBin>;
}

function gate(options: { store?: string; gate?: Record<string, unknown>; env?: Record<string, string> } = {}): Gate {
  const cwd = tempDir('policy-gate-fault-');
  const store = options.store ?? join(cwd, '.policy-gate', 'audit.db');
  const env = {
    POLICY_GATE_POLICY: reviewPolicyDir([ALICE], options.gate ?? {}),
    POLICY_GATE_STORE: store,
    ...options.env,
  };
  return {
    cwd,
    store,
    env,
    bin: (args, o = {}) =>
      runBin(args, {
        cwd: o.cwd ?? cwd,
        env: { ...env, ...o.env },
        ...(o.stdin === undefined ? {} : { stdin: o.stdin }),
      }),
  };
}

async function events(store: string): Promise<StoredEvent[]> {
  const s = openSqliteStore(store, { readonly: true });
  try {
    return await s.events();
  } finally {
    await s.close();
  }
}

/** The pending command whose text is `command`, read through a read-only store (null: none yet). */
async function pendingCommand(store: string, command: string): Promise<CommandRecord | null> {
  const s = openSqliteStore(store, { readonly: true });
  try {
    return (await s.commands({ decision: 'pending' })).find((c) => c.command === command) ?? null;
  } finally {
    await s.close();
  }
}

/**
 * Run `command` through `exec` as an agent would, and approve it as a reviewer once it waits
 * (the commands these tests run are not whitelisted). Resolves with exec's exit and output.
 */
async function execApproved(
  g: Gate,
  command: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; id: string }> {
  const child = spawn(process.execPath, [BIN, 'exec', '--timeout', '600', '--', command], {
    cwd: g.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...g.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const closed = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  void closed.then(() => (exited = true));
  const id = await waitFor('the exec to wait for a reviewer', async () => {
    if (exited) throw new Error(`exec ended without waiting for a reviewer: ${stderr}`);
    if (!existsSync(g.store)) return null;
    try {
      return (await pendingCommand(g.store, command))?.command_id ?? null;
    } catch {
      return null;
    }
  });
  const approved = await g.bin(['review', 'approve', id, '--reviewer', 'alice', '--key', keyFor('alice').file]);
  expect(approved.code, approved.stderr).toBe(0);
  return { code: await closed, stderr, id };
}

/** Can this machine mount file systems (tmpfs, bind mounts)? Tests that need it say so. */
const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  const dir = tempDir('policy-gate-mount-probe-');
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
  if (ok) spawnSync('umount', [dir]);
  return ok;
})();
const mounted: string[] = [];
function mount(args: string[], dir: string): void {
  const r = spawnSync('mount', [...args, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} ${dir}: ${r.stderr}`);
  mounted.push(dir);
}
afterAll(() => {
  for (const dir of mounted.reverse()) spawnSync('umount', ['-l', dir]);
});

const holderScript = (): string => {
  const file = join(tempDir('policy-gate-holder-'), 'hold-lock.cjs');
  writeFileSync(
    file,
    `// hold the store's write lock until told to let go
const [driver, db, ready, release] = process.argv.slice(2);
const Database = require(driver);
const conn = new Database(db, { timeout: 60000 });
conn.exec('BEGIN IMMEDIATE');
require('fs').writeFileSync(ready, 'held');
const until = Date.now() + 120000;
(function poll() {
  if (require('fs').existsSync(release) || Date.now() > until) { conn.exec('ROLLBACK'); conn.close(); return; }
  setTimeout(poll, 20);
})();
`,
  );
  return file;
};

describe('a command that ran keeps its exit status, whatever happens to the trail', () => {
  it(
    'the write lock held past the timeout when the run ends: exec exits with the command’s status; ' +
      'the end is recorded late',
    async () => {
      const g = gate();
      expect((await g.bin(['check', '--', 'git status'])).code).toBe(0); // the store exists
      const dir = tempDir('policy-gate-lock-');
      const ready = join(dir, 'ready');
      const release = join(dir, 'release');
      const driver = join(ROOT, 'node_modules', 'better-sqlite3');
      // the command takes the store's lock in a process that outlives it, then exits 7 (the store's
      // path comes from the environment: named in the command, it would be denied as tampering)
      const command =
        `${process.execPath} ${holderScript()} ${driver} "$HOLD_DB" ${ready} ${release} >/dev/null 2>&1 & ` +
        `while [ ! -e ${ready} ]; do sleep 0.02; done; exit 7`;
      const r = await execApproved(g, command, { POLICY_GATE_LOCK_TIMEOUT: '0.5', HOLD_DB: g.store });
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(/the command ran \(exit 7\) but its end could not be recorded: .*spooled/);
      writeFileSync(release, '');
      // until the next writer comes, the run has a start and no end, and verify says so
      await waitFor('the lock to be released', () => {
        const db = new Database(g.store, { timeout: 0 });
        try {
          db.exec('BEGIN IMMEDIATE; ROLLBACK');
          return true;
        } catch {
          return false;
        } finally {
          db.close();
        }
      });
      const before = JSON.parse((await g.bin(['verify', '--json'])).stdout);
      expect(before.unended_runs).toEqual([r.id]);
      expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
      const all = await events(g.store);
      const failed = all.find((e) => e.type === 'WRITE_FAILED');
      expect(failed?.body).toMatchObject({
        event_type: 'EXEC_END',
        failed_command_id: r.id,
        error: expect.stringMatching(/locked|busy/i),
      });
      const end = all.find((e) => e.type === 'EXEC_END' && e.command_id === r.id);
      expect(end?.body).toMatchObject({ exit_code: 7 });
      expect(end!.seq).toBeGreaterThan(failed!.seq);
      const after = await g.bin(['verify', '--json']);
      expect(after.code, after.stdout).toBe(0);
      expect(JSON.parse(after.stdout).unended_runs).toEqual([]);
      expect(existsSync(join(g.cwd, '.policy-gate', 'write-failures.jsonl'))).toBe(false);
    },
    240_000,
  );

  it.skipIf(!canMount)(
    'the disk fills up while the command runs: exec exits with its status; the end is spooled aside and recorded once there is room',
    async () => {
      const disk = tempDir('policy-gate-full-');
      mount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs'], disk);
      const g = gate({ store: join(disk, 'audit.db') });
      rmSync(fallbackSpool(g.store), { force: true });
      expect((await g.bin(['check', '--', 'git status'])).code).toBe(0);
      const fill = join(disk, 'fill');
      const r = await execApproved(g, `dd if=/dev/zero of=${fill} bs=4096 2>/dev/null; exit 5`);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/its end could not be recorded/);
      // the store's own directory was full too: the failure went to the temporary directory
      expect(readFileSync(fallbackSpool(g.store), 'utf8')).toContain(r.id);
      rmSync(fill);
      expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
      const all = await events(g.store);
      expect(all.find((e) => e.type === 'WRITE_FAILED')?.body).toMatchObject({
        event_type: 'EXEC_END',
        failed_command_id: r.id,
      });
      expect(all.find((e) => e.type === 'EXEC_END' && e.command_id === r.id)?.body).toMatchObject({ exit_code: 5 });
      expect(existsSync(fallbackSpool(g.store))).toBe(false);
      expect((await g.bin(['verify'])).code).toBe(0);
    },
    240_000,
  );
});

describe('spooled failures are never lost', () => {
  it('a spool claimed by a writer that died is taken over by the next writer', async () => {
    const g = gate();
    expect((await g.bin(['check', '--', 'git status'])).code).toBe(0);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    const line = (n: number) =>
      `${JSON.stringify({
        failed_at: '2026-11-30T00:00:00.000Z',
        event_type: 'SUBMITTED',
        failed_command_id: null,
        error: `database is locked (${n})`,
        pid,
      })}\n`;
    // one claim as older versions named it, one as this one does, and one new failure
    const dir = join(g.cwd, '.policy-gate');
    writeFileSync(join(dir, `write-failures.jsonl.${pid}.ingesting`), line(1) + line(2));
    writeFileSync(join(dir, `write-failures.jsonl.${pid}.k3j4.ingesting`), line(3));
    writeFileSync(join(dir, 'write-failures.jsonl'), line(4));
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
    const errors = (await events(g.store))
      .filter((e) => e.type === 'WRITE_FAILED')
      .map((e) => (e.body as { error: string }).error)
      .sort();
    expect(errors).toEqual([1, 2, 3, 4].map((n) => `database is locked (${n})`));
    expect(readdirSync(dir).filter((n) => n.startsWith('write-failures'))).toEqual([]);
  });

  it('failures spooled while the lock was held are all recorded once it is free', async () => {
    const g = gate();
    expect((await g.bin(['check', '--', 'git status'])).code).toBe(0);
    const holder = new Database(g.store, { timeout: 60_000 });
    holder.exec('BEGIN IMMEDIATE');
    let failures = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const r = await g.bin(['check', '--', `ls ${i}`], { env: { POLICY_GATE_LOCK_TIMEOUT: '0.2' } });
        expect(r.code).toBe(2); // not recorded: must not run
        failures++;
      }
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
    expect((await events(g.store)).filter((e) => e.type === 'WRITE_FAILED')).toHaveLength(failures);
  }, 120_000);
});

describe('truncation and rewrites are caught without --against', () => {
  /** Change the store as an attacker holding the gate key would: triggers dropped, then put back. */
  function rewrite(store: string, ...statements: [string, ...unknown[]][]): void {
    const db = new Database(store);
    const triggers = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'").all() as {
      name: string;
      sql: string;
    }[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    for (const [sql, ...args] of statements) db.prepare(sql).run(...args);
    for (const t of triggers) db.exec(t.sql);
    db.close();
  }

  async function trail(g: Gate): Promise<void> {
    for (const c of ['git status', 'ls', 'rm -rf /', 'git log', 'ls -la'])
      expect([0, 1]).toContain((await g.bin(['check', '--', c])).code);
  }

  it('a file witness: the last events and their checkpoints deleted and the trail re-signed → verify fails', async () => {
    const witness = join(tempDir('policy-gate-witness-'), 'checkpoints.log');
    const g = gate({ gate: { witnesses: [{ file: witness }] } });
    await trail(g);
    const fine = await g.bin(['verify']);
    expect(fine.code, fine.stdout + fine.stderr).toBe(0);
    expect(fine.stdout).toMatch(/witness file .*checkpoints\.log: the trail extends its \d+ checkpoint\(s\)/);
    const size = (await events(g.store)).length;
    rewrite(
      g.store,
      ['DELETE FROM events WHERE seq > ?', size - 3],
      ['DELETE FROM checkpoints WHERE size > ?', size - 3],
    );
    // re-signed with the gate's key, without the witness (it cannot be rewritten)
    expect(
      (await g.bin(['checkpoint', 'export'], { env: { POLICY_GATE_POLICY: reviewPolicyDir([ALICE]) } })).code,
    ).toBe(0);
    expect((await g.bin(['verify', '--no-witnesses'])).code).toBe(0); // consistent on its own
    const r = await g.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      new RegExp(
        [
          /FAILED {2}witness at event #\d+: the trail has \d+ events /,
          /but the checkpoint witnessed by file .* covers \d+: it was truncated or rolled back/,
        ]
          .map((part) => part.source)
          .join(''),
      ),
    );
  });

  it('every checkpoint deleted and the chain re-hashed: with a pinned key, verify fails', async () => {
    const g = gate();
    await trail(g);
    rewrite(g.store, ['DELETE FROM checkpoints']);
    const r = await g.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      /checkpoint at event #1: the trail has \d+ events and no signed checkpoint, although a key is pinned/,
    );
  });

  it('a decision left without the checkpoint signed with it: verify fails', async () => {
    const g = gate();
    await trail(g);
    const s = openSqliteStore(g.store, { readonly: true });
    const last = (await s.latestCheckpoint())!;
    await s.close();
    rewrite(g.store, ['DELETE FROM checkpoints WHERE id = ?', last.id]);
    const r = await g.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/is not covered by a signed checkpoint, although every decision is/);
  });

  it('an HTTP witness on loopback and a Git ref witness: both read back by verify', async () => {
    const kept: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.method === 'POST') kept.push(body);
        res.end(req.method === 'GET' ? kept.join('\n') : 'ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const repo = tempDir('policy-gate-witness-repo-');
      spawnSync('git', ['init', '-q', repo]);
      const g = gate({
        gate: {
          witnesses: [{ url: `http://127.0.0.1:${port}/cp` }, { git_ref: 'refs/policy-gate/checkpoints', repo }],
        },
      });
      await trail(g);
      expect(kept.length).toBeGreaterThanOrEqual(5);
      const log = spawnSync('git', ['-C', repo, 'log', '--format=%B', 'refs/policy-gate/checkpoints'], {
        encoding: 'utf8',
      }).stdout;
      expect(log).toMatch(/^policy-gate\/[0-9a-f]{16}\n\d+\n/);
      const r = await g.bin(['verify', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const names = JSON.parse(r.stdout).witnesses.map((w: { name: string }) => w.name);
      expect(names).toEqual([`url http://127.0.0.1:${port}/cp`, `git refs/policy-gate/checkpoints in ${repo}`]);
      // the store rolled back to an earlier copy: both witnesses hold newer checkpoints
      const size = (await events(g.store)).length;
      rewrite(
        g.store,
        ['DELETE FROM events WHERE seq > ?', size - 2],
        ['DELETE FROM checkpoints WHERE size > ?', size - 2],
      );
      const bad = await g.bin(['verify']);
      expect(bad.code).toBe(4);
      expect(bad.stdout).toMatch(/witness .*: the trail has \d+ events but the checkpoint witnessed by url/);
    } finally {
      server.close();
    }
  });

  it('a witness that cannot be read back fails verification; --no-witnesses verifies without it', async () => {
    const unreadable = tempDir('policy-gate-witness-dir-'); // a directory: appends and reads fail
    const g = gate({ gate: { witnesses: [{ file: unreadable }] } });
    const c = await g.bin(['check', '--', 'git status']);
    expect(c.code).toBe(0); // not required: the write stands
    expect(c.stderr).toMatch(/could not be appended to witness file/);
    const r = await g.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      /^FAILED {2}witness: witness file .* could not be read \(.*\): the trail cannot be checked against it/,
    );
    expect((await g.bin(['verify', '--no-witnesses'])).code).toBe(0);
  });

  it('a required witness that cannot take the checkpoint: the command is not allowed to run', async () => {
    const g = gate({ gate: { witnesses: [{ file: '/nonexistent-dir/checkpoints.log', required: true }] } });
    const r = await g.bin(['check', '--', 'git status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required witness file \/nonexistent-dir\/checkpoints\.log/);
  });

  it('a reviewer’s stored reason must be the one they signed', async () => {
    const g = gate();
    const pending = JSON.parse((await g.bin(['check', '--json', '--no-wait', '--', 'npm publish'])).stdout);
    expect(
      (
        await g.bin([
          'review',
          'approve',
          pending.command_id,
          '--reviewer',
          'alice',
          '--key',
          keyFor('alice').file,
          '--reason',
          'release 1.2',
        ])
      ).code,
    ).toBe(0);
    expect((await g.bin(['verify'])).code).toBe(0);
    // rewritten with the gate key: the body, every hash after it and the checkpoints
    const db = new Database(g.store);
    const rows = db.prepare('SELECT seq, body FROM events ORDER BY seq').all() as { seq: number; body: Buffer }[];
    const triggers = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'").all() as {
      name: string;
      sql: string;
    }[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    let previous = Buffer.alloc(32);
    for (const row of rows) {
      const body = row.body.toString('utf8').replace('"reason":"release 1.2"', '"reason":"routine"');
      const bytes = Buffer.from(body, 'utf8');
      const leaf = createHash('sha256')
        .update(Buffer.from([0]))
        .update(bytes)
        .digest();
      const chain = createHash('sha256').update('policy-gate/chain/v1').update(previous).update(leaf).digest();
      db.prepare('UPDATE events SET body = ?, leaf = ?, chain = ? WHERE seq = ?').run(bytes, leaf, chain, row.seq);
      previous = chain;
    }
    db.exec('DELETE FROM checkpoints');
    for (const t of triggers) db.exec(t.sql);
    db.close();
    expect((await g.bin(['checkpoint', 'export'])).code).toBe(0);
    const r = await g.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/authority at event #\d+: the reason recorded for \S+ is not the one alice signed/);
  });
});

describe('a store whose protections were removed', () => {
  for (const [what, sql] of [
    ['an append-only trigger', 'DROP TRIGGER events_no_delete'],
    ['a one-per-command index', 'DROP INDEX events_one_decided'],
    [
      'a trigger replaced by one that does nothing',
      'DROP TRIGGER events_no_update; CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END',
    ],
    [
      'a trigger added that drops events',
      "CREATE TRIGGER swallow BEFORE INSERT ON events WHEN NEW.type = 'SUBMITTED' BEGIN SELECT RAISE(IGNORE); END",
    ],
  ] as const) {
    it(`${what}: the gate does not write to it (exit 2), verify names it (exit 4)`, async () => {
      const g = gate();
      expect((await g.bin(['check', '--', 'git status'])).code).toBe(0);
      const db = new Database(g.store);
      db.exec(sql);
      db.close();
      const before = (await events(g.store)).length;
      const r = await g.bin(['check', '--', 'ls']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/its protections were removed or changed .*: the gate does not write to it/);
      expect(await events(g.store)).toHaveLength(before);
      const v = await g.bin(['verify']);
      expect(v.code).toBe(4);
      expect(v.stdout).toMatch(/^FAILED {2}schema: the store's protections were removed or changed/);
    });
  }
});

describe('a corrupted store fails closed', () => {
  it('4 KiB of random bytes in the middle: check 2, exec 126 without running, verify 4 naming where, never 70', async () => {
    const g = gate();
    for (let i = 0; i < 60; i++) expect((await g.bin(['check', '--', `ls dir${i}`])).code).toBe(0);
    const size = statSync(g.store).size;
    const fd = openSync(g.store, 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const c = await g.bin(['check', '--', 'git status']);
    expect(c.code, c.stderr).toBe(2);
    expect(c.stderr).toMatch(/corrupted/);
    const marker = join(g.cwd, 'ran');
    const x = await g.bin(['exec', '--', `touch ${marker}`]);
    expect(x.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
    const v = await g.bin(['verify']);
    expect(v.code, v.stdout + v.stderr).toBe(4);
    expect(v.stdout).toMatch(/^FAILED {2}integrity( at event #\d+)?: /);
    const a = await g.bin(['audit', '--limit', '5']);
    expect([0, 2]).toContain(a.code);
    expect(a.stderr).not.toMatch(/internal error/);
  }, 120_000);

  it('a file that is not a database at all: check 2, verify 4', async () => {
    const g = gate();
    mkdirSync(join(g.cwd, '.policy-gate'), { recursive: true });
    writeFileSync(g.store, randomBytes(8192));
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(2);
    const v = await g.bin(['verify']);
    expect(v.code).toBe(4);
    expect(v.stdout).toMatch(/^FAILED {2}integrity/);
  });
});

describe('other databases are never taken over', () => {
  it('another application’s SQLite file is refused and left byte for byte as it was', async () => {
    const g = gate();
    mkdirSync(join(g.cwd, '.policy-gate'), { recursive: true });
    const db = new Database(g.store);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');");
    db.pragma('user_version = 3');
    db.close();
    const before = readFileSync(g.store);
    const r = await g.bin(['check', '--', 'ls']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a policy-gate audit store \(it holds other tables\): it is left as it is/);
    expect(readFileSync(g.store).equals(before)).toBe(true);
    expect(existsSync(`${g.store}-wal`)).toBe(false);
    const other = new Database(g.store);
    other.pragma('application_id = 12345');
    other.close();
    expect((await g.bin(['check', '--', 'ls'])).stderr).toMatch(/application_id 0x3039/);
  });

  it('a store from a newer policy-gate: exit 2 with a clear message, not 70', async () => {
    const g = gate();
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
    const db = new Database(g.store);
    db.pragma('user_version = 99');
    db.close();
    for (const args of [['check', '--', 'ls'], ['audit'], ['verify']]) {
      const r = await g.bin(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/written by a newer policy-gate \(schema version 99/);
    }
  });

  it('an empty file becomes a store', async () => {
    const g = gate();
    mkdirSync(join(g.cwd, '.policy-gate'), { recursive: true });
    writeFileSync(g.store, '');
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
    expect((await g.bin(['verify'])).code).toBe(0);
  });
});

describe.skipIf(!canMount)('read-only media', () => {
  it('audit and verify read a store on a read-only bind mount (no -shm can be made)', async () => {
    const g = gate();
    for (const c of ['git status', 'ls']) expect((await g.bin(['check', '--', c])).code).toBe(0);
    const ro = tempDir('policy-gate-ro-');
    mount(['--bind', join(g.cwd, '.policy-gate')], ro);
    expect(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status).toBe(0);
    const env = { POLICY_GATE_STORE: join(ro, 'audit.db') };
    const a = await g.bin(['audit', '--json'], { env });
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toHaveLength(2);
    const v = await g.bin(['verify'], { env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^VERIFIED/);
    // and nothing is written there
    const w = await g.bin(['check', '--', 'ls'], { env });
    expect(w.code).toBe(2);
  });
});

describe('inputs larger than the limit', () => {
  it('is recorded by size, SHA-256 and prefix, held as too-large; exec never runs it', async () => {
    const g = gate();
    const input = `echo start; ${'x'.repeat(3 * 1024 * 1024)}\n`;
    const r = await g.bin(['check', '--json', '--no-wait'], { stdin: input });
    expect(r.code, r.stderr).toBe(3);
    const record = JSON.parse(r.stdout);
    expect(record.truncated).toEqual({
      bytes: Buffer.byteLength(input),
      sha256: createHash('sha256').update(input).digest('hex'),
      complete: true,
      limit: 1024 * 1024,
    });
    expect(record.command).toBe(input.slice(0, 4096));
    expect(record.issues.map((i: { code: string }) => i.code)).toEqual(['too-large']);
    const marker = join(g.cwd, 'ran');
    const x = await g.bin(['exec', '--timeout', '1'], { stdin: `touch ${marker} # ${'y'.repeat(2 * 1024 * 1024)}` });
    expect(x.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
    // the trail stays quick to list
    const a = await g.bin(['audit', '--json', '--limit', '1']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)[0].truncated.bytes).toBeGreaterThan(2 * 1024 * 1024);
  }, 120_000);

  it('the limit is gate.yaml limits.max_command_bytes', async () => {
    const g = gate({ gate: { 'limits.max_command_bytes': 2048 } });
    const r = await g.bin(['check', '--json', '--no-wait'], { stdin: `echo ${'a'.repeat(3000)}` });
    expect(JSON.parse(r.stdout).truncated).toMatchObject({ bytes: 3005, limit: 2048 });
    const small = await g.bin(['check', '--json', '--no-wait'], { stdin: `echo ${'a'.repeat(1000)}` });
    expect(JSON.parse(small.stdout).truncated).toBeNull();
  });
});

describe('working directories that are not there', () => {
  it('a deleted current directory: check 2, exec 126, one clear line and no stack trace', async () => {
    const g = gate();
    const gone = tempDir('policy-gate-gone-');
    // a shell that enters the directory, which is then removed under it
    for (const [sub, code] of [
      ['check', 2],
      ['exec', 126],
    ] as const) {
      const r = spawnSync(
        'sh',
        ['-c', `cd ${gone} && rmdir ${gone} && exec "$0" "$1" ${sub} -- ls`, process.execPath, BIN],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...g.env } },
      );
      expect(r.status, r.stderr).toBe(code);
      expect(r.stderr).toMatch(
        /^policy-gate: error: the current directory no longer exists .*: the command must not run\n$/,
      );
      mkdirSync(gone);
    }
  });

  it('--cwd that is a file or missing: check 2, exec 126, and no run is started', async () => {
    const g = gate();
    const file = join(g.cwd, 'a-file');
    writeFileSync(file, '');
    for (const cwd of [file, '/nonexistent/dir']) {
      const c = await g.bin(['check', '--cwd', cwd, '--', 'ls']);
      expect(c.code).toBe(2);
      expect(c.stderr).toMatch(new RegExp(`--cwd ${cwd}: (not a directory|no such directory)`));
      const x = await g.bin(['exec', '--cwd', cwd, '--', 'ls']);
      expect(x.code).toBe(126);
    }
    expect(existsSync(g.store) ? (await events(g.store)).filter((e) => e.type === 'EXEC_START') : []).toEqual([]);
  });
});

describe('pending commands end in a decision', () => {
  it('a --no-wait submission and a killed waiting check are timed out by the next writer after their deadline', async () => {
    const g = gate();
    const noWait = JSON.parse(
      (await g.bin(['check', '--json', '--no-wait', '--timeout', '1', '--', 'npm publish'])).stdout,
    );
    expect(noWait.decision).toBe('pending');
    const child = spawn(process.execPath, [BIN, 'check', '--timeout', '3', '--', 'npm publish --tag next'], {
      cwd: g.cwd,
      env: { PATH: process.env.PATH ?? '', ...g.env },
      stdio: 'ignore',
    });
    const killed = await waitFor('the waiting check', () => pendingCommand(g.store, 'npm publish --tag next'));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    // a writer before the deadline leaves them pending
    expect((await g.bin(['check', '--', 'ls'])).code).toBe(0);
    await waitFor(
      'the deadlines and their grace to pass',
      () => Date.now() > Date.parse(killed.deadline!) + 2500,
      60_000,
      100,
    );
    expect((await g.bin(['check', '--', 'git status'])).code).toBe(0);
    const s = openSqliteStore(g.store, { readonly: true });
    for (const id of [noWait.command_id, killed.command_id]) {
      const d = await s.decision(id);
      expect(d).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
      expect(Date.parse(d!.decided_at)).toBeGreaterThanOrEqual(Date.parse((await s.command(id))!.deadline!));
    }
    await s.close();
    expect((await g.bin(['verify'])).code).toBe(0);
  }, 120_000);
});

describe('a write storm with kills', () => {
  it(
    '16 writers, some SIGKILLed mid-write: no submission is refused for the lock, ' +
      'every answer is in the trail, verify passes',
    async () => {
      const dir = tempDir('policy-gate-storm-');
      const store = join(dir, 'audit.db');
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'scripts', 'storm.mjs'), '--writers', '16', '--commands', '12', '--kills', '4', '--store', store],
        { encoding: 'utf8', timeout: 600_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result).toMatchObject({ lost: 0, missing: 0 });
      expect(result.answered).toBeGreaterThanOrEqual(16 * 12 - 4);
      const v = await runBin(['verify', '--store', store]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
    },
    600_000,
  );
});
