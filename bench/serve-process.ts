/**
 * A `policy-gate serve` process for the bench and the load script: the built CLI on a free
 * loopback port and its Unix socket, a fresh store in `dir` (its .policy-gate/) or the one
 * given (a replica of a PostgreSQL trail, or another process on a shared SQLite file), the given
 * policy, no rate limit, warnings only in its log.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchServer {
  readonly url: string;
  readonly socket: string;
  readonly store: string;
  token(name: string, role: 'agent' | 'reviewer' | 'auditor' | 'admin'): string;
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

export interface BenchServerOptions {
  /** The policy directory (default: the shipped policy). */
  readonly policy?: string;
  /** A SQLite path or a postgres:// URL (default: .policy-gate/audit.db in the directory). */
  readonly store?: string;
  /** The Unix socket (default: serve.sock in the state directory; one per process on a store). */
  readonly socket?: string;
  /** The environment of the server and of `token` (e.g. POLICY_GATE_STATE for PostgreSQL). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function startBenchServer(
  bin: string,
  dir: string,
  options: BenchServerOptions = {},
): Promise<BenchServer> {
  const store = options.store ?? join(dir, '.policy-gate', 'audit.db');
  const env = options.env ?? process.env;
  const args = [bin, 'serve', '--port', '0', '--store', store, '--rate-limit', '0', '--log-level', 'warn'];
  if (options.policy) args.push('--policy', options.policy);
  if (options.socket) args.push('--socket', options.socket);
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
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
        { cwd: dir, env, encoding: 'utf8' },
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

/**
 * A copy of the shipped policy in `dir`/policies where reviewer `id` decides with a bearer token
 * (review.token_decisions: true), listed with a fresh ed25519 key it never uses.
 */
export function tokenDecisionPolicy(shipped: string, dir: string, id: string): string {
  const policy = join(dir, 'policies');
  cpSync(shipped, policy, { recursive: true });
  const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const blob = Buffer.concat([u32(11), Buffer.from('ssh-ed25519'), u32(32), raw]).toString('base64');
  writeFileSync(
    join(policy, 'reviewers.yaml'),
    `reviewers:\n  - id: ${id}\n    name: Scripted Reviewer\n    roles: [reviewer]\n    key: ssh-ed25519 ${blob} ${id}\n`,
  );
  const gate = readFileSync(join(policy, 'gate.yaml'), 'utf8');
  if (!gate.includes('token_decisions: false')) throw new Error('bench: gate.yaml has no token_decisions: false');
  writeFileSync(join(policy, 'gate.yaml'), gate.replace('token_decisions: false', 'token_decisions: true'));
  return policy;
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
