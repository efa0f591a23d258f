/**
 * A throwaway PostgreSQL server for the tests and the bench: initdb into a temporary directory,
 * a free port on loopback, a Unix socket in that directory, trust authentication for the
 * superuser `gate`. As root (CI), the cluster is created and run by the unprivileged `postgres`
 * account, as PostgreSQL requires. `stop()`/`start()` restart it (a server going away mid-run);
 * `sql()` runs statements as the superuser (pg_terminate_backend, read-only mode, timeouts).
 * It lives here because tsc compiles bench/ (not test/) into dist/; test/pg-fixture.ts re-exports it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgServer {
  /** postgresql://gate@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Run SQL as the superuser; returns psql's unaligned, tuples-only output. */
  sql(statement: string, database?: string): string;
  stop(): void;
  start(): void;
  /** Stop and remove everything. */
  destroy(): void;
}

/** The directory of PostgreSQL's server binaries (Debian: /usr/lib/postgresql/N/bin), or null. */
export function pgBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? join(which.stdout.trim(), '..') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPg(): Promise<PgServer> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-pg-'));
  const data = join(dir, 'data');
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const as = (program: string, args: string[]): void => {
    const [cmd, argv] = root
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args];
    const r = spawnSync(cmd, argv as string[], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${program} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  as('initdb', ['-D', data, '-A', 'trust', '-U', 'gate', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const start = (): void =>
    as('pg_ctl', [
      '-D',
      data,
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      '-l',
      join(dir, 'log'),
      '-w',
      'start',
    ]);
  const stop = (): void => as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const url = `postgresql://gate@127.0.0.1:${port}/postgres`;
  let running = true;
  return {
    url,
    port,
    dir,
    sql(statement, database = 'postgres') {
      return execFileSync(
        'psql',
        [`postgresql://gate@127.0.0.1:${port}/${database}`, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', statement],
        // psql's error goes into the thrown error, not the test's output
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      ).trim();
    },
    stop() {
      if (running) stop();
      running = false;
    },
    start() {
      if (!running) start();
      running = true;
    },
    destroy() {
      try {
        if (running) stop();
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
