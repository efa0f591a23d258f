/**
 * Many writers on one PostgreSQL trail: separate processes (each its own connection and its own
 * group commit) append at once, and the database keeps one gap-free sequence and one unbroken
 * hash chain, every submission and decision exactly once. `npm test` builds dist/ first.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../engine/audit/pg/backend.js';
import { GENESIS, chainHash, leafHash } from '../engine/audit/chain.js';
import { decided, submitted } from './audit-store-contract.js';
import { ROOT, tempDir } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

const BACKEND = join(ROOT, 'dist', 'engine', 'audit', 'pg', 'backend.js');
let pg: PgServer;

beforeAll(async () => {
  if (!existsSync(BACKEND)) throw new Error(`${BACKEND} is missing: run \`npm run build\` first (npm test does)`);
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

/** One writer process: appends the bodies in `file` (submit, then decide, each command), concurrently in `lanes`. */
function writer(url: string, file: string, lanes: number): Promise<number | null> {
  const script = `
    import { readFileSync } from 'node:fs';
    import { openPgStore } from ${JSON.stringify(BACKEND)};
    const work = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8'));
    const store = await openPgStore(${JSON.stringify(url)}, { stateDir: ${JSON.stringify(tempDir('policy-gate-pg-w-'))} });
    let next = 0;
    await Promise.all(Array.from({ length: ${lanes} }, async () => {
      while (next < work.length) {
        const [s, d] = work[next++];
        await store.submit(s);
        if ((await store.decide(d)) === null) throw new Error('decision refused');
      }
    }));
    await store.close();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (code) => resolve(code));
  });
}

describe('PostgreSQL: many writers, one chain', () => {
  it('4 processes × 4 concurrent lanes × 50 commands: one gap-free sequence, one unbroken chain, each event once', async () => {
    pg.sql('CREATE DATABASE contention');
    const url = `postgresql://gate@127.0.0.1:${pg.port}/contention`;
    await (await openPgStore(url, { migrate: true, stateDir: tempDir() })).close();
    const processes = 4;
    const per = 50;
    const files = Array.from({ length: processes }, (_, p) => {
      const file = join(tempDir(), `work-${p}.json`);
      const at = (i: number) => new Date(Date.UTC(2026, 0, 7, 12, 0, 0, p * 1000 + i)).toISOString();
      const work = Array.from({ length: per }, (_, i) => [
        submitted(`P${p}C${i}`, at(i)),
        decided(`P${p}C${i}`, at(i)),
      ]);
      writeFileSync(file, JSON.stringify(work));
      return file;
    });
    const codes = await Promise.all(files.map((f) => writer(url, f, 4)));
    expect(codes).toEqual(Array(processes).fill(0));

    const store = await openPgStore(url, { stateDir: tempDir() });
    try {
      let prev: Buffer = GENESIS;
      const order: string[] = [];
      let expected = 1;
      const seen = new Map<string, number>();
      for await (const e of store.rawEvents()) {
        expect(e.seq).toBe(expected++);
        expect(leafHash(e.bytes).equals(e.leaf)).toBe(true);
        expect(chainHash(prev, e.leaf).equals(e.chain)).toBe(true);
        prev = e.chain;
        if (e.type === 'SUBMITTED' && e.command_id) order.push(e.command_id.slice(0, 2));
        if (e.command_id) seen.set(`${e.type}:${e.command_id}`, (seen.get(`${e.type}:${e.command_id}`) ?? 0) + 1);
      }
      expect(expected - 1).toBe(processes * per * 2);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(seen.size).toBe(processes * per * 2);
      expect(await store.eventCount()).toBe(processes * per * 2);
      // the writers really ran at once: their submissions interleave in the one sequence
      const switches = order.filter((w, i) => i > 0 && w !== order[i - 1]).length;
      expect(switches).toBeGreaterThan(processes);
    } finally {
      await store.close();
    }
  }, 300_000);
});
