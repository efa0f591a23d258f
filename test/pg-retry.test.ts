/**
 * Writes whose connection is lost, for real: the server restarted under an open store, a
 * connection terminated while its transaction waited, and a connection cut after COMMIT reached
 * the server but before its answer came back (the ambiguous commit). Each submission ends
 * recorded exactly once, found again by its bytes when the retry cannot know whether the first
 * attempt committed.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../engine/audit/pg/backend.js';
import { submitted } from './audit-store-contract.js';
import { tempDir, waitFor } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

function database(name: string): string {
  pg.sql(`CREATE DATABASE ${name}`);
  return `postgresql://gate@127.0.0.1:${pg.port}/${name}`;
}

/**
 * A TCP proxy in front of the server that, once armed, lets the next COMMIT through to the
 * server, holds back whatever the server answers, and cuts the client's connection once `cut`
 * says the commit is visible.
 */
async function commitCutter(
  target: number,
): Promise<{ port: number; arm: (cut: () => boolean) => void; close: () => void; cuts: () => number }> {
  let armed: (() => boolean) | null = null;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let holding = false;
    client.on('data', (data) => {
      upstream.write(data);
      // a simple-protocol Query message: 'Q', length, "COMMIT\0"
      if (armed && data.includes(Buffer.from('COMMIT\0'))) {
        const visible = armed;
        armed = null;
        holding = true;
        const timer = setInterval(() => {
          if (!visible()) return;
          clearInterval(timer);
          cuts++;
          client.destroy();
          upstream.destroy();
        }, 20);
      }
    });
    upstream.on('data', (data) => {
      if (!holding) client.write(data);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    arm: (cut) => (armed = cut),
    cuts: () => cuts,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('PostgreSQL: lost connections, exactly once', () => {
  it('the connection cut after COMMIT reached the server: the retry finds the submission, it is recorded once', async () => {
    const direct = database('ambiguous');
    await (await openPgStore(direct, { migrate: true, stateDir: tempDir() })).close();
    const proxy = await commitCutter(pg.port);
    const store = await openPgStore(`postgresql://gate@127.0.0.1:${proxy.port}/ambiguous`, { stateDir: tempDir() });
    try {
      await store.submit(submitted('A0', '2026-01-07T12:00:00.000Z'));
      // COMMIT goes through; its answer never comes back, once the SUBMITTED is visible to others
      proxy.arm(() => pg.sql("SELECT count(*) FROM policy_gate.events WHERE command_id = 'A1'", 'ambiguous') === '1');
      const event = await store.submit(submitted('A1', '2026-01-07T12:00:01.000Z'));
      expect(proxy.cuts()).toBe(1);
      expect(event.seq).toBe(2); // as the first attempt committed it
      const rows = pg.sql(
        "SELECT seq || ':' || type || ':' || coalesce(command_id, '') FROM policy_gate.events ORDER BY seq",
        'ambiguous',
      );
      expect(rows.split('\n')).toEqual(['1:SUBMITTED:A0', '2:SUBMITTED:A1']);
    } finally {
      await store.close();
      proxy.close();
    }
  });

  it('the server restarted under an open store (a resident gate): the next write connects again', async () => {
    const url = database('restarted');
    const store = await openPgStore(url, { migrate: true, stateDir: tempDir() });
    try {
      await store.submit(submitted('R1', '2026-01-07T12:00:00.000Z'));
      pg.stop();
      pg.start();
      // the pool's connection died with the server: the write finds out, and succeeds on a new one
      await store.submit(submitted('R2', '2026-01-07T12:00:01.000Z'));
      expect((await store.events()).map((e) => `${e.seq}:${e.command_id}`)).toEqual(['1:R1', '2:R2']);
    } finally {
      await store.close();
    }
  });

  it('a connection terminated mid-transaction (pg_terminate_backend): rolled back, tried again, recorded once', async () => {
    const url = database('terminated');
    const holder = await openPgStore(url, { migrate: true, stateDir: tempDir() });
    const store = await openPgStore(url, { stateDir: tempDir() });
    try {
      let release!: () => void;
      let locked!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const isLocked = new Promise<void>((r) => (locked = r));
      // another writer holds the append lock: the submission's transaction waits inside it
      const holding = holder.atomically(async () => {
        await holder.submit(submitted('H1', '2026-01-07T12:00:00.000Z'));
        locked();
        await held;
      });
      await isLocked;
      const pending = store.submit(submitted('T1', '2026-01-07T12:00:01.000Z'));
      const waiting = () =>
        pg.sql(
          "SELECT pid FROM pg_stat_activity WHERE datname = 'terminated' AND wait_event_type = 'Lock' AND query LIKE '%advisory%'",
        );
      await waitFor('the submission waiting for the append lock', () => waiting() !== '');
      pg.sql(`SELECT pg_terminate_backend(${waiting()})`);
      release();
      await holding;
      const event = await pending;
      expect(event.command_id).toBe('T1');
      const types = (await store.events()).map((e) => `${e.type}:${e.command_id}`);
      expect(types).toEqual(['SUBMITTED:H1', 'SUBMITTED:T1']);
    } finally {
      await store.close();
      await holder.close();
    }
  });
});
