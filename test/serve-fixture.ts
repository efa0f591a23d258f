/**
 * A real `policy-gate serve` process for tests: the built CLI on a free loopback port and a
 * Unix socket, a real SQLite store in a temporary directory (or the store given: a PostgreSQL
 * URL for replicas), tokens made with `serve token create`. Requests go over real HTTP (fetch)
 * or the socket (node:http with socketPath).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { BIN, POLICY_DIR, baseEnv, runCli, tempDir, waitFor } from './helpers.js';

export interface Served {
  readonly dir: string;
  readonly store: string;
  readonly policy: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly socket: string;
  readonly env: Record<string, string>;
  readonly output: () => { stdout: string; stderr: string };
  token(identity: string, role: 'agent' | 'reviewer' | 'auditor' | 'admin'): Promise<string>;
  stop(): Promise<number | null>;
  readonly child: ChildProcess;
}

export async function startServer(
  options: {
    policy?: string;
    args?: string[];
    env?: Record<string, string>;
    /** The store (default: a new SQLite store in the server's own directory). */
    store?: string;
  } = {},
): Promise<Served> {
  const dir = tempDir('policy-gate-serve-');
  const store = options.store ?? join(dir, '.policy-gate', 'audit.db');
  const policy = options.policy ?? POLICY_DIR;
  const env = { PATH: process.env.PATH ?? '', ...baseEnv(dir), ...options.env };
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--store', store, '--policy', policy, '--log-level', 'warn', ...(options.args ?? [])],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let exited: number | null | undefined;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      resolve(code);
    }),
  );
  const m = await waitFor('the server to listen', () => {
    if (exited !== undefined) throw new Error(`serve exited ${exited}: ${stderr}`);
    return /listening on (http:\/\/127\.0\.0\.1:(\d+))(?: and unix:(\S+))?/.exec(stdout);
  });
  return {
    dir,
    store,
    policy,
    url: m[1]!,
    port: Number(m[2]),
    socket: m[3] ?? '',
    env,
    child,
    output: () => ({ stdout, stderr }),
    async token(identity, role) {
      const r = await runCli(['serve', 'token', 'create', '--name', identity, '--role', role, '--store', store], {
        cwd: dir,
        ...(options.env ? { env: options.env } : {}),
      });
      if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
  readonly text: string;
}

/** One request over the Unix socket (no token unless given). */
export function overSocket(
  socket: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpRequest(
      {
        socketPath: socket,
        method,
        path,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** One request over loopback HTTP. */
export async function overHttp(
  served: Pick<Served, 'url'>,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.raw !== undefined ? { body: options.raw } : {}),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body, text };
}

/** The events of a Server-Sent Events stream, as they arrive, until `until` says stop. */
export async function readEvents(
  url: string,
  token: string,
  until: (events: { event: string; data: any }[]) => boolean,
  signal?: AbortSignal,
): Promise<{ event: string; data: any }[]> {
  const events: { event: string; data: any }[] = [];
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });
  if (!res.ok || !res.body) throw new Error(`stream ${url}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      if (until(events)) return events;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
