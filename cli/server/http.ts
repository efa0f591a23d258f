/**
 * What the server's modules share: who a request speaks for, error answers with stable codes,
 * the answer about one command, Server-Sent Events streams, the options the app is built with.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CommandRecord, Gate } from '../../engine/index.js';
import { allowsRun, exitCodeFor } from '../../engine/model/verdict.js';
import type { Hub } from './hub.js';
import type { Role, TokenStore } from './tokens.js';

/** Who a request speaks for. */
export interface Principal {
  readonly identity: string;
  readonly role: Role;
  /** The token's id; null on the Unix socket without a token. */
  readonly token_id: string | null;
  readonly channel: 'http' | 'socket';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Answered without a token (health, the OpenAPI document, the console's files). */
    public?: boolean;
  }
}

export interface AppOptions {
  readonly gate: Gate;
  readonly hub: Hub;
  readonly tokens: TokenStore;
  /** Origins a browser may call from (the console's own); the Host header must name one of them. */
  readonly origins: readonly string[];
  /** The WebAuthn relying party: its id (a host name) and the origin passkeys are bound to. */
  readonly rp: { readonly id: string; readonly origin: string };
  /** Requests per minute per token (0: no limit). */
  readonly rateLimit: number;
  /** Mounts the console's routes (absent: no console). */
  readonly console?: ((app: FastifyInstance) => Promise<void> | void) | undefined;
  /** Fastify's logger (false: none). */
  readonly logger?: false | { level: string; stream: NodeJS.WritableStream };
}

/** A 4xx/5xx answer with a stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The roles that may do something (admin may do everything). */
export function requireRole(request: Pick<FastifyRequest, 'principal'>, ...roles: Role[]): Principal {
  const p = request.principal!;
  if (p.role !== 'admin' && !roles.includes(p.role))
    throw new ApiError(403, 'forbidden', `the ${p.role} role may not do this (needs ${roles.join(' or ')})`);
  return p;
}

/** The answer about one command: its record, what it means for the agent, the exit code check would give. */
export function commandAnswer(record: CommandRecord): { record: CommandRecord; outcome: string; exit_code: number } {
  const outcome = allowsRun(record.decision) ? 'allowed' : record.decision;
  return { record, outcome, exit_code: exitCodeFor(record.decision) };
}

export interface Stream {
  readonly signal: AbortSignal;
  readonly closed: boolean;
  readonly done: Promise<void>;
  send(event: string, data: unknown): void;
  onClose(fn: () => void): void;
  end(): void;
}

/** Answer with a Server-Sent Events stream (Fastify lets go of the reply; headers already set are kept). */
export function openStream(request: FastifyRequest, reply: FastifyReply): Stream {
  void reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const abort = new AbortController();
  const closers: (() => void)[] = [];
  let id = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  const close = (): void => {
    if (abort.signal.aborted) return;
    clearInterval(ping);
    abort.abort();
    for (const fn of closers) fn();
    resolveDone();
  };
  res.once('close', close);
  return {
    signal: abort.signal,
    get closed() {
      return abort.signal.aborted;
    },
    done,
    send(event, data) {
      if (!abort.signal.aborted) res.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(fn) {
      closers.push(fn);
    },
    end() {
      close();
      res.end();
    },
  };
}
