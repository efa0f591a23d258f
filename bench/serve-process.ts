/**
 * A `policy-gate serve` process for the bench and the load script: the built CLI on a free
 * loopback port and its Unix socket, a fresh store in `dir` (its .policy-gate/), the given
 * policy, no rate limit, warnings only in its log.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface BenchServer {
  readonly url: string;
  readonly socket: string;
  readonly store: string;
  token(name: string, role: 'agent' | 'reviewer' | 'auditor' | 'admin'): string;
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

export async function startBenchServer(bin: string, dir: string, policy?: string): Promise<BenchServer> {
  const store = join(dir, '.policy-gate', 'audit.db');
  const args = [bin, 'serve', '--port', '0', '--store', store, '--rate-limit', '0', '--log-level', 'warn'];
  if (policy) args.push('--policy', policy);
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /listening on (http:\/\/\S+) and unix:(\S+)/.exec(out);
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening`)));
  });
  return {
    url: m[1]!,
    socket: m[2]!,
    store,
    child,
    token(name, role) {
      const r = spawnSync(
        process.execPath,
        [bin, 'serve', 'token', 'create', '--name', name, '--role', role, '--store', store],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`token create: ${r.stderr}`);
      return r.stdout.trim();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A keep-alive HTTP client for many requests (Node's fetch pools connections per origin). */
export async function post(url: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export async function get(url: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
