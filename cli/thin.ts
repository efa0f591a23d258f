/**
 * The thin client: `check` answered by a resident gate (`serve`), loading neither a native
 * module nor the engine — Node's fs, net (or http for a remote server) and this file. It runs
 * from the CommonJS bin stub (cli/stub.ts) before anything else is loaded, and from the full
 * CLI when `check --server` is given there.
 *
 * Which server: `--server unix:PATH | http(s)://HOST:PORT` (or POLICY_GATE_SERVER), with
 * `--token` (or POLICY_GATE_TOKEN); else the `serve.sock` next to the store, when this user's
 * gate serves there. An explicitly named server that cannot be reached fails closed (exit 2);
 * a socket found next to the store that nobody answers on is left to the in-process gate
 * (the same store and policy), which the caller runs when told 'fallback'.
 */
import { discoverStore, stateDirectory } from '../engine/util/store-path.js';
import { shellJoin } from '../engine/util/quote.js';
import { commandText } from './stdin-text.js';

/** What the thin client reads and writes: the process, or a test's stand-in. */
export interface ThinIo {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string | undefined;
  readonly uid: number | undefined;
  /** Standard input, read whole (called only once the server is reachable). */
  stdin(): Buffer | Promise<Buffer>;
  stdinIsTty(): boolean;
  write(fd: 1 | 2, text: string): void;
  isTty(fd: 1 | 2): boolean;
  readonly signal?: AbortSignal | undefined;
  /** Whether the words after -- were not valid UTF-8 as received (absent: such words go to the full CLI). */
  readonly invalidArgv?: (() => boolean) | undefined;
}

/** The full CLI's io as the thin client's. `words`: the command after --, whose raw bytes the CLI can check. */
export function thinIo(io: import('./io.js').CliIo, invalidArgv: () => boolean): ThinIo {
  return {
    cwd: io.cwd,
    env: io.env,
    home: io.env.HOME || undefined,
    uid: process.getuid?.(),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
      return Buffer.concat(chunks);
    },
    stdinIsTty: () => io.stdinIsTTY,
    write: (fd, text) => (fd === 1 ? io.stdout : io.stderr).write(text),
    isTty: (fd) => Boolean((fd === 1 ? io.stdout : io.stderr).isTTY),
    signal: io.signal,
    invalidArgv,
  };
}

interface ThinArgs {
  server: string | undefined;
  token: string | undefined;
  store: string | undefined;
  session: string | undefined;
  agent: string | undefined;
  intent: string | undefined;
  cwd: string | undefined;
  timeout: string | undefined;
  noWait: boolean;
  json: boolean;
  quiet: boolean;
  words: string[] | null;
}

const VALUE_FLAGS = new Set(['server', 'token', 'store', 'session', 'agent', 'intent', 'cwd', 'timeout']);
const BOOL_FLAGS = new Set(['no-wait', 'json', 'quiet']);

/** check's arguments, when the thin client can carry them all out; null otherwise (the full CLI does). */
export function parseThinArgs(args: readonly string[]): ThinArgs | null {
  const a: ThinArgs = {
    server: undefined,
    token: undefined,
    store: undefined,
    session: undefined,
    agent: undefined,
    intent: undefined,
    cwd: undefined,
    timeout: undefined,
    noWait: false,
    json: false,
    quiet: false,
    words: null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      a.words = args.slice(i + 1);
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) return null; // an operand, a short flag: the full CLI explains
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    if (BOOL_FLAGS.has(name) && inline === undefined) {
      if (name === 'no-wait') a.noWait = true;
      else if (name === 'json') a.json = true;
      else a.quiet = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) return null;
    const value = inline ?? args[++i];
    if (value === undefined) return null;
    (a as unknown as Record<string, string>)[name] = value;
  }
  return a;
}

type Target = { kind: 'unix'; path: string; explicit: boolean } | { kind: 'http'; url: URL; explicit: true };

/** The server to ask, or null when there is none to try (the in-process gate answers). */
export function serverTarget(a: ThinArgs, io: ThinIo): Target | null | Error {
  const named = a.server ?? io.env.POLICY_GATE_SERVER;
  if (named !== undefined && named !== '') return namedTarget(named, io.cwd);
  let found: ReturnType<typeof discoverStore>;
  try {
    found = discoverStore({ store: a.store, cwd: io.cwd, env: io.env, home: io.home, uid: io.uid });
  } catch {
    return null; // a store name the full CLI refuses, with its own error
  }
  const state = found === null ? null : stateDirectory(found, { cwd: io.cwd, env: io.env, home: io.home });
  if (state === null) return null;
  const path = `${state}/serve.sock`;
  const fs = require('node:fs') as typeof import('node:fs');
  try {
    const st = fs.statSync(path);
    // only this user's gate: another account's socket could answer anything
    if (!st.isSocket() || (io.uid !== undefined && st.uid !== io.uid)) return null;
  } catch {
    return null;
  }
  return { kind: 'unix', path, explicit: false };
}

/** A server named by --server: `unix:PATH` (relative to `cwd`) or an http(s) URL. */
function namedTarget(named: string, cwd: string): Target | Error {
  if (named.startsWith('unix:')) return { kind: 'unix', path: resolvePath(cwd, named.slice(5)), explicit: true };
  let url: URL | null = null;
  try {
    url = new URL(named);
  } catch {
    /* not a URL */
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return new Error(`--server ${JSON.stringify(named)}: expected unix:PATH or an http(s) URL`);
  return { kind: 'http', url, explicit: true };
}

function resolvePath(cwd: string, path: string): string {
  return path.startsWith('/') ? path : `${cwd}/${path}`;
}

interface Answer {
  readonly status: number;
  readonly body: {
    record?: unknown;
    exit_code?: number;
    text?: string;
    error?: { code: string; message: string };
  };
}

/**
 * Run `check` through a server. Resolves to the exit code, or 'fallback' when the socket found
 * next to the store does not answer (nothing was read from stdin, nothing sent).
 */
export async function thinCheck(args: readonly string[], io: ThinIo): Promise<number | 'fallback'> {
  const a = parseThinArgs(args);
  if (a === null) return 'fallback';
  const target = serverTarget(a, io);
  if (target === null) return 'fallback';
  const fail = (message: string): number => {
    io.write(2, `policy-gate: error: ${message}\n  the command must not run\n`);
    return 2;
  };
  if (target instanceof Error) return fail(target.message);
  if (a.words === null && io.stdinIsTty()) return 'fallback'; // nothing to read: the full CLI says how to use it
  // a word Node decoded with U+FFFD may not be what the agent runs: its raw bytes decide (cli/input.ts)
  const argvSuspect = a.words?.some((w) => w.includes('\ufffd')) ?? false;
  if (argvSuspect && !io.invalidArgv) return 'fallback';
  const argvInvalid = argvSuspect && io.invalidArgv!();
  const cwd = a.cwd === undefined ? io.cwd : resolvePath(io.cwd, a.cwd);
  let timeoutMs: number | undefined;
  if (a.timeout !== undefined) {
    const secs = Number(a.timeout);
    if (!/^\d+(\.\d+)?$/.test(a.timeout) || !(secs > 0)) return 'fallback';
    timeoutMs = Math.max(1000, Math.round(secs * 1000));
  }
  const fs = require('node:fs') as typeof import('node:fs');
  try {
    if (!fs.statSync(cwd).isDirectory()) return 'fallback';
  } catch {
    return 'fallback'; // the full CLI names the missing directory
  }
  const color = io.isTty(1) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  const submit = (command: string, invalidUtf8: boolean): Record<string, unknown> => ({
    command,
    cwd,
    wait: !a.noWait,
    ...(invalidUtf8 ? { invalid_utf8: true } : {}),
    ...(a.session !== undefined ? { session_id: a.session } : {}),
    ...(a.agent !== undefined ? { agent: a.agent } : {}),
    ...(a.intent !== undefined ? { intent: a.intent } : {}),
    ...(timeoutMs !== undefined ? { timeout_ms: timeoutMs } : {}),
    ...(a.json ? {} : { render: color ? 'text-color' : 'text' }),
  });
  const input = async (): Promise<{ text: string; invalid: boolean } | null> => {
    if (a.words !== null) {
      if (a.words.length === 0) return null;
      return { text: a.words.length === 1 ? a.words[0]! : shellJoin(a.words), invalid: argvInvalid };
    }
    // exactly as the in-process check reads it
    const { text, invalidUtf8 } = commandText(await io.stdin());
    return text.trim() === '' ? null : { text, invalid: invalidUtf8 };
  };
  const token = a.token ?? io.env.POLICY_GATE_TOKEN;
  const held = (h: { command_id: string; risk_level: string; wait_ms: number }): void => {
    if (a.quiet || !io.isTty(2)) return;
    io.write(
      2,
      `policy-gate: ${h.command_id} (risk ${h.risk_level}) is held for a reviewer; waiting up to ` +
        `${Math.ceil(h.wait_ms / 1000)} s — review it: policy-gate review show ${h.command_id}\n`,
    );
  };
  let answer: Answer | 'unreachable';
  try {
    answer =
      target.kind === 'unix'
        ? await overSocket(target.path, token, input, submit, held, io.signal)
        : await overHttp(target.url, token, input, submit, io.signal);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'no-command') {
      io.write(2, 'policy-gate: no command: standard input was empty\n  see: policy-gate check --help\n');
      return 2;
    }
    return fail(`the gate server ${describe(target)} failed: ${e.message}`);
  }
  if (answer === 'unreachable') {
    if (!target.explicit) return 'fallback';
    return fail(`cannot reach the gate server ${describe(target)}`);
  }
  if (answer.status >= 400 || typeof answer.body.exit_code !== 'number') {
    const e = answer.body.error;
    return fail(`the gate server refused the check (${answer.status} ${e?.code ?? ''}): ${e?.message ?? 'no answer'}`);
  }
  const record = answer.body.record as { decision?: string; command_id?: string } | undefined;
  if (record?.decision === 'pending' && !a.noWait) {
    io.write(
      2,
      `policy-gate: interrupted while waiting for a reviewer: ${record.command_id} stays pending; do not run it\n`,
    );
    if (a.json) io.write(1, `${JSON.stringify(record)}\n`);
    return 1;
  }
  io.write(1, a.json ? `${JSON.stringify(record)}\n` : (answer.body.text ?? ''));
  return answer.body.exit_code;
}

/**
 * Submit one command to a server (for `hook --server`): the answer's body, or an error naming
 * why there is none (unreachable, refused): the caller fails closed.
 */
export async function remoteSubmit(
  server: string,
  token: string | undefined,
  body: Record<string, unknown>,
  cwd: string,
  signal?: AbortSignal,
): Promise<{ record: unknown; exit_code: number; why_not_whitelisted?: string | null }> {
  const target = namedTarget(server, cwd);
  if (target instanceof Error) throw target;
  const input: Input = async () => ({ text: String(body.command), invalid: body.invalid_utf8 === true });
  const submit: Submit = () => body;
  const answer =
    target.kind === 'unix'
      ? await overSocket(target.path, token, input, submit, () => undefined, signal)
      : await overHttp(target.url, token, input, submit, signal);
  if (answer === 'unreachable') throw new Error(`cannot reach the gate server ${describe(target)}`);
  if (answer.status >= 400 || typeof answer.body.exit_code !== 'number') {
    const e = answer.body.error;
    throw new Error(
      `the gate server refused the check (${answer.status} ${e?.code ?? ''}): ${e?.message ?? 'no answer'}`,
    );
  }
  return answer.body as { record: unknown; exit_code: number; why_not_whitelisted?: string | null };
}

/** One JSON request to a named server's API (HTTP over its Unix socket, or over TCP): status and body. */
export async function remoteRequest(
  server: string,
  token: string | undefined,
  method: string,
  path: string,
  body: unknown,
  cwd: string,
): Promise<{ status: number; body: any }> {
  const target = namedTarget(server, cwd);
  if (target instanceof Error) throw target;
  const answer = await httpJson(target, token, method, path, body);
  if (answer === 'unreachable') throw new Error(`cannot reach the gate server ${describe(target)}`);
  return answer;
}

function describe(target: Target): string {
  return target.kind === 'unix' ? `unix:${target.path}` : target.url.origin;
}

type Input = () => Promise<{ text: string; invalid: boolean } | null>;
type Submit = (command: string, invalidUtf8: boolean) => Record<string, unknown>;

function noCommand(): Error {
  return Object.assign(new Error('no command given'), { code: 'no-command' });
}

/** One JSON line each way over the Unix socket ('unreachable' when nobody listens there). */
function overSocket(
  path: string,
  token: string | undefined,
  input: Input,
  submit: Submit,
  held: (h: { command_id: string; risk_level: string; wait_ms: number }) => void,
  signal: AbortSignal | undefined,
): Promise<Answer | 'unreachable'> {
  const net = require('node:net') as typeof import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    let connected = false;
    let buffer = '';
    const abort = (): void => {
      socket.destroy();
      reject(new Error('interrupted'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    socket.once('connect', () => {
      connected = true;
      input().then(
        (got) => {
          if (got === null) {
            socket.destroy();
            return reject(noCommand());
          }
          const request = { v: 1, ...(token ? { token } : {}), submit: submit(got.text, got.invalid) };
          socket.write(`${JSON.stringify(request)}\n`);
        },
        (err: unknown) => {
          socket.destroy();
          reject(err as Error);
        },
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let message: { held?: { command_id: string; risk_level: string; wait_ms: number } } & Partial<Answer>;
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          socket.destroy();
          return reject(new Error('its answer is not JSON'));
        }
        if (message.held) {
          held(message.held);
          continue;
        }
        signal?.removeEventListener('abort', abort);
        socket.destroy();
        return resolve({ status: Number(message.status), body: message.body ?? {} });
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', abort);
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve('unreachable');
      else reject(err);
    });
    socket.once('close', () => reject(new Error('the connection closed before an answer')));
  });
}

/** POST /v1/commands over HTTP(S) ('unreachable' when the connection is refused). */
async function overHttp(
  url: URL,
  token: string | undefined,
  input: Input,
  submit: Submit,
  signal: AbortSignal | undefined,
): Promise<Answer | 'unreachable'> {
  const got = await input();
  if (got === null) throw noCommand();
  const target: Target = { kind: 'http', url, explicit: true };
  return httpJson(target, token, 'POST', '/v1/commands', submit(got.text, got.invalid), signal);
}

/** One JSON request over HTTP (over TCP, or over a Unix socket): its status and body, or 'unreachable'. */
function httpJson(
  target: Target,
  token: string | undefined,
  method: string,
  path: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Answer | 'unreachable'> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const client = (
    target.kind === 'http' && target.url.protocol === 'https:' ? require('node:https') : require('node:http')
  ) as typeof import('node:http');
  const where =
    target.kind === 'unix'
      ? { socketPath: target.path, path }
      : { host: target.url.hostname, port: target.url.port, path: new URL(path, target.url).pathname };
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        ...where,
        method,
        headers: {
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(signal ? { signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch {
            reject(new Error(`its answer (HTTP ${response.statusCode}) is not JSON`));
          }
        });
      },
    );
    request.once('error', (err: NodeJS.ErrnoException) =>
      ['ECONNREFUSED', 'ENOENT', 'ENOTFOUND'].includes(err.code ?? '') ? resolve('unreachable') : reject(err),
    );
    request.end(payload);
  });
}
