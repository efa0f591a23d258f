/**
 * The real bin, as agents run it: separate processes, a real SQLite file, concurrent writers.
 * `npm test` builds dist/ first.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../engine/index.js';
import { chainHash, GENESIS, leafHash } from '../engine/audit/chain.js';
import { BIN, baseEnv, runBin, tempDir, userStore, waitFor } from './helpers.js';

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
});

describe('the policy-gate bin', () => {
  it('checks a command piped on stdin and answers with the exit code', async () => {
    const cwd = tempDir();
    expect((await runBin(['check'], { stdin: 'git status\n', cwd })).code).toBe(0);
    expect((await runBin(['check', '--', 'rm -rf ~'], { cwd })).code).toBe(1);
    expect((await runBin(['check', '--no-wait', '--', 'npm publish'], { cwd })).code).toBe(3);
    const listed = await runBin(['audit', '--json'], { cwd });
    expect(JSON.parse(listed.stdout).map((r: { decision: string }) => r.decision)).toEqual([
      'whitelisted',
      'denied',
      'pending',
    ]);
  });

  it('works from a fresh directory with no configuration (embedded default)', async () => {
    const cwd = tempDir();
    const r = await runBin(['check', '--json', '--', 'ls -la'], { cwd });
    expect(r.code).toBe(0);
    // no .policy-gate/ here or above: the per-user default store
    expect(existsSync(userStore(cwd))).toBe(true);
    expect(JSON.parse(r.stdout).decided_by).toBe('whitelist_rule:fs.list');
  });

  it('prints help and version', async () => {
    expect((await runBin(['--help'])).stdout).toMatch(/Exit codes:/);
    expect((await runBin(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('several agents at once', () => {
  it('records every submission exactly once, in one unbroken chain', async () => {
    const cwd = tempDir();
    const processes = 8;
    const each = 5;
    const commands = ['git status', 'ls -la', 'npm publish', 'rm -rf /', 'cat README.md'];
    await Promise.all(
      Array.from({ length: processes }, async (_v, p) => {
        for (let i = 0; i < each; i++) {
          const cmd = commands[(p + i) % commands.length]!;
          const r = await runBin(['check', '--no-wait', '--session', `agent-${p}`, '--', `${cmd} # ${p}-${i}`], {
            cwd,
          });
          expect([0, 1, 3]).toContain(r.code);
        }
      }),
    );
    const store = openSqliteStore(userStore(cwd), { readonly: true });
    const records = await store.commands();
    expect(records).toHaveLength(processes * each);
    expect(new Set(records.map((r) => r.command_id)).size).toBe(processes * each);
    expect(new Set(records.map((r) => r.command)).size).toBe(processes * each);
    for (let p = 0; p < processes; p++) expect(await store.commands({ session: `agent-${p}` })).toHaveLength(each);
    const events = await store.events();
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
    let previous: Buffer = GENESIS;
    for (const e of events) {
      const chain = chainHash(previous, leafHash(e.bytes));
      expect(e.chain).toBe(chain.toString('hex'));
      previous = chain;
    }
    // every decided command was submitted first
    const submittedAt = new Map(events.filter((e) => e.type === 'SUBMITTED').map((e) => [e.command_id, e.seq]));
    for (const e of events.filter((x) => x.type === 'DECIDED'))
      expect(submittedAt.get(e.command_id)!).toBeLessThan(e.seq);
    await store.close();
    // 40 real processes, eight at a time, the first of each loading the policy cold (examples
    // and all): on a busy machine that takes more than the default 30 s
  }, 180_000);
});

describe('interrupting a waiting check', () => {
  it('SIGTERM stops the wait: exit 1 (do not run), the attempt stays pending in the trail', async () => {
    const { spawn } = await import('node:child_process');
    const cwd = tempDir();
    // a timeout far longer than any busy machine needs to start the check: only SIGTERM ends it
    const child = spawn(process.execPath, [BIN, 'check', '--timeout', '600', '--', 'npm publish'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...baseEnv(cwd) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const dbPath = userStore(cwd);
    // wait until the submission is durable, then interrupt
    await waitFor('the pending submission', async () => {
      if (!existsSync(dbPath)) return false;
      try {
        const s = openSqliteStore(dbPath, { readonly: true });
        try {
          return (await s.commands({ decision: 'pending' })).length > 0;
        } finally {
          await s.close();
        }
      } catch {
        return false; // the child is still creating the store
      }
    });
    child.kill('SIGTERM');
    const code = await closed;
    // it stopped on the signal, long before its 600 s timeout
    expect(code).toBe(1);
    expect(stderr).toMatch(/stays pending; do not run it/);
    const store = openSqliteStore(dbPath, { readonly: true });
    expect((await store.commands()).map((c) => c.decision)).toEqual(['pending']);
    await store.close();
  }, 180_000);
});
