/**
 * `policy-gate serve`: open the gate once, then answer over loopback TCP and a Unix socket
 * until SIGINT/SIGTERM. Decisions made here wake the waiting submissions at once; decisions
 * and submissions of other processes on the same store are picked up by the hub (a slow read
 * of a SQLite trail, or PostgreSQL announcing every append by any replica at commit).
 * Commands nobody waits for any more are timed out on time by a sweep.
 */
import { createServer } from 'node:http';
import { connect, type Server as NetServer } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ExitCode,
  GateError,
  openGate,
  shippedPolicyDir,
  systemClock,
  expireOverdue,
  type Gate,
} from '../../engine/index.js';
import { str, type Parsed } from '../args.js';
import { home, locations, systemTimeZone } from '../context.js';
import type { CliIo } from '../io.js';
import { buildApp } from './app.js';
import { Hub } from './hub.js';
import { DEMO_AGENT, DEMO_REVIEWER, prepareDemo, startDemoAgent, type Demo } from './demo.js';
import { submitCommand } from './submit.js';
import { socketServer as socketServerFor } from './line.js';
import { TokenStore } from './tokens.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** A path, 'default' (serve.sock next to the store), or null for none. */
  readonly socket: string | null;
  readonly origin: string | undefined;
  readonly rateLimit: number;
  readonly demo: boolean;
  readonly logLevel: string;
  readonly parsed: Parsed;
}

/** How often commands past their deadline with nobody waiting are timed out. */
const SWEEP_MS = 1000;

/** The server's socket: in the gate's state directory (next to a SQLite store). */
export function defaultSocketPath(loc: { readonly state: string }): string {
  return join(loc.state, 'serve.sock');
}

export async function runServer(options: ServeOptions, io: CliIo): Promise<number> {
  const demo = options.demo ? prepareDemo(str(options.parsed, 'policy') ?? shippedPolicyDir()) : null;
  try {
    return await serveOn(options, io, demo);
  } finally {
    demo?.remove();
  }
}

async function serveOn(options: ServeOptions, io: CliIo, demo: Demo | null): Promise<number> {
  const parsed = demo
    ? { ...options.parsed, values: { ...options.parsed.values, store: demo.store, policy: demo.policy } }
    : options.parsed;
  const loc = locations(parsed, io);
  let hub: Hub | null = null;
  const gate = await openGate(loc, {
    home: home(io),
    timeZone: systemTimeZone(io),
    warn: (message) => io.stderr.write(`policy-gate: ${message}\n`),
    waiter: { next: (id, ms, signal) => hub!.next(id, ms, signal) },
  });
  const stops: (() => Promise<void> | void)[] = [() => gate.close()];
  const stop = async (): Promise<void> => {
    for (const fn of stops.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  };
  try {
    const store = await gate.store();
    // a PostgreSQL trail announces every append (by any replica, any process) at commit: the hub
    // reads on each announcement, and after a lost connection once, instead of polling
    const announced = loc.url !== undefined;
    hub = new Hub(store, announced ? null : 250);
    await hub.start();
    stops.push(() => hub!.close());
    if (announced) {
      const h = hub;
      const watch = await gate.watchAppends({ onEvent: () => h.poke(), onReconnect: () => h.poke() });
      if (watch) stops.push(() => watch.close());
    }
    const server = await listen(gate, hub, options, io);
    stops.push(server.close);
    let consoleUrl = server.consoleUrl;
    if (demo) {
      const tokens = TokenStore.forState(loc.state);
      const reviewer = tokens.create(DEMO_REVIEWER, 'reviewer', 'serve --demo');
      const agent = tokens.create(DEMO_AGENT, 'agent', 'serve --demo').entry;
      const principal = { identity: DEMO_AGENT, role: 'agent', token_id: agent.id, channel: 'http' } as const;
      const stopAgent = startDemoAgent(async (command, intent, session) => {
        const answer = await submitCommand(
          { gate, hub: hub! },
          principal,
          {
            command,
            intent,
            session_id: session,
            agent: DEMO_AGENT,
            cwd: demo.dir,
          },
          new AbortController().signal,
        );
        return answer.record;
      });
      stops.push(stopAgent);
      consoleUrl = `${server.consoleUrl}#token=${reviewer.token}`;
      io.stdout.write(
        `policy-gate serve --demo: a throwaway store and policy in ${demo.dir} (deleted when you stop it)\n` +
          `  a simulated agent submits a command every few seconds; you review them as ${DEMO_REVIEWER}\n` +
          `  open the console: ${consoleUrl}\n` +
          `  submit your own: policy-gate check --server unix:${server.socket ?? defaultSocketPath(loc)} -- 'rm -rf ~'\n` +
          `  verify the trail: policy-gate verify --store ${loc.store} --policy ${demo.policy}\n`,
      );
    }
    const sweep = setInterval(() => {
      void expireOverdue(store, systemClock())
        .then((n) => n > 0 && hub!.poke())
        .catch(() => undefined);
    }, SWEEP_MS);
    stops.push(() => clearInterval(sweep));
    io.stdout.write(
      `policy-gate serve: listening on ${server.url}${server.socket ? ` and unix:${server.socket}` : ''}\n` +
        `  store   ${loc.store}\n  policy  ${loc.policy} (${gate.policy.revision})\n` +
        `  api     ${server.url}/v1/openapi.json\n  console ${consoleUrl}\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal?.aborted) return resolve();
      io.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    io.stderr.write('policy-gate serve: stopping\n');
    return ExitCode.Allowed;
  } finally {
    await stop();
  }
}

interface Listening {
  readonly url: string;
  readonly consoleUrl: string;
  readonly socket: string | null;
  close(): Promise<void>;
}

async function listen(gate: Gate, hub: Hub, options: ServeOptions, io: CliIo): Promise<Listening> {
  const tokens = TokenStore.forState(gate.locations.state);
  // the port is known only once bound (--port 0): the app is built after, for the origins it checks
  const port = options.port === 0 ? await freePort(options.host) : options.port;
  const local = [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`];
  const hostOrigin = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const origin = options.origin ? new URL(options.origin).origin : `http://localhost:${port}`;
  const built = await buildApp({
    gate,
    hub,
    tokens,
    origins: [...new Set([origin, hostOrigin, ...local])],
    rp: { id: new URL(origin).hostname, origin },
    rateLimit: options.rateLimit,
    console: await consoleRoutes(),
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel, stream: process.stderr },
  });
  const { app, socketHandler } = built;
  try {
    await app.listen({ host: options.host, port });
  } catch (err) {
    await app.close();
    throw new GateError('usage', `cannot listen on ${hostOrigin}: ${(err as Error).message}`);
  }
  let socketServer: NetServer | null = null;
  let socketPath: string | null = null;
  if (options.socket !== null) {
    socketPath = options.socket === 'default' ? defaultSocketPath(gate.locations) : resolve(io.cwd, options.socket);
    try {
      socketServer = await listenSocket(socketPath, socketServerFor(createServer(socketHandler), built.options));
    } catch (err) {
      await app.close();
      throw err;
    }
  }
  return {
    url: hostOrigin,
    consoleUrl: `${origin}/ui/`,
    socket: socketPath,
    close: async () => {
      if (socketServer) await new Promise<void>((ok) => socketServer!.close(() => ok()));
      await app.close();
    },
  };
}

/** The console's routes (the build embeds its files). */
async function consoleRoutes(): Promise<(app: import('fastify').FastifyInstance) => void> {
  return (await import('./console-route.js')).registerConsole;
}

/**
 * Listen on a Unix socket created 0600 (the umask is narrowed while it is created, so it is
 * never reachable by others). A socket left by a gate that died is replaced; one a live gate
 * answers on is not.
 */
async function listenSocket(path: string, server: NetServer): Promise<NetServer> {
  if (Buffer.byteLength(path) > 100)
    throw new GateError(
      'usage',
      `the socket path ${path} is too long for a Unix socket: use --socket with a shorter one`,
    );
  let existing: import('node:fs').Stats | null = null;
  try {
    existing = lstatSync(path);
  } catch {
    /* none */
  }
  if (existing) {
    if (!existing.isSocket()) throw new GateError('usage', `${path} exists and is not a socket: not replacing it`);
    if (await answers(path)) throw new GateError('usage', `another gate is serving on ${path}`);
    unlinkSync(path);
  }
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((ok, ko) => server.once('error', ko).listen({ path }, ok));
  } catch (err) {
    throw new GateError('usage', `cannot listen on unix:${path}: ${(err as Error).message}`);
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return server;
}

async function freePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok, ko) => probe.once('error', ko).listen({ host, port: 0 }, ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  return port;
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
