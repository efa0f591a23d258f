/**
 * The resident gate's HTTP application: Fastify with its security-header and rate-limit
 * plugins, bearer tokens with roles, the /v1 API (cli/server/routes.ts) described by OpenAPI,
 * and the web console. Every answer that is not a success is `{ error: { code, message } }`
 * with a stable code.
 *
 * Browsers: no CORS (no Access-Control-* header is ever sent), bearer tokens only (no cookie,
 * so nothing a cross-site page can ride on), requests carrying a foreign Origin or
 * `Sec-Fetch-Site: cross-site` refused, and the Host header must name this server (DNS
 * rebinding). A strict Content-Security-Policy covers every answer.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import AjvModule from 'ajv';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { GateError, VERSION } from '../../engine/index.js';
import { registerRoutes } from './routes.js';
import { ApiError, type AppOptions, type Principal } from './http.js';
import type { TokenStore } from './tokens.js';

export type { AppOptions, Principal } from './http.js';

export interface App {
  readonly app: FastifyInstance;
  readonly options: AppOptions;
  /** Requests arriving on the Unix socket: same routes, authenticated by the socket's permissions. */
  readonly socketHandler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Body limit for everything but a submission (whose limit follows the policy's max command size). */
const BODY_LIMIT = 64 * 1024;

/** Sockets that came in through the Unix socket (the same handler serves both listeners). */
const viaSocket = new WeakSet<object>();

const HTTP_STATUS: Partial<Record<string, number>> = {
  'not-found': 404,
  usage: 400,
  input: 400,
  'policy-invalid': 503,
  'policy-example-failed': 503,
  'store-unavailable': 503,
  'store-write-failed': 503,
  'store-corrupt': 503,
  'store-tampered': 503,
};

// ajv is CommonJS: its class is the default export's default under NodeNext
const Ajv = AjvModule.default;

export async function buildApp(options: AppOptions): Promise<App> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const app = Fastify({
    serverFactory: (h): Server => {
      handler = h;
      return createServer(h);
    },
    bodyLimit: BODY_LIMIT,
    requestTimeout: 30_000,
    connectionTimeout: 0, // a stream or a long poll may stay open; requestTimeout bounds receiving
    keepAliveTimeout: 5_000,
    forceCloseConnections: true,
    return503OnClosing: true,
    logger: options.logger ?? false,
  });

  // bodies strictly (no coercion, no silently dropped fields); query strings coerced from text
  const bodyAjv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false });
  const queryAjv = new Ajv({ removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema as object),
  );
  app.removeContentTypeParser('text/plain'); // JSON only: a form or text body is a 415
  app.decorateRequest('principal', null);

  app.setErrorHandler((err: unknown, request, reply) => sendError(reply, err, request));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError(404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  await app.register(helmet, {
    global: true,
    strictTransportSecurity: false, // TLS is terminated in front of the gate, which sets HSTS
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
  });

  const hosts = new Set(options.origins.map((o) => new URL(o).host));
  const origins = new Set(options.origins.map((o) => new URL(o).origin));
  app.addHook('onRequest', async (request) => {
    const socket = viaSocket.has(request.raw.socket);
    if (!socket) {
      const host = request.headers.host ?? '';
      if (!hosts.has(host))
        throw new ApiError(421, 'wrong-host', `this gate does not answer for host ${JSON.stringify(host)}`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin))
      throw new ApiError(403, 'cross-origin', `requests from ${JSON.stringify(origin)} are not accepted`);
    if (request.headers['sec-fetch-site'] === 'cross-site')
      throw new ApiError(403, 'cross-origin', 'cross-site requests are not accepted');
    request.principal = authenticate(request, options.tokens, socket);
    if (!request.principal && !request.routeOptions.config.public)
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer pgt_…)');
  });

  if (options.rateLimit > 0) {
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimit,
      timeWindow: '1 minute',
      keyGenerator: (request: FastifyRequest) =>
        request.principal?.token_id ?? (request.principal ? `socket` : `ip:${request.ip ?? 'unix'}`),
      errorResponseBuilder: (_request, context) =>
        new ApiError(429, 'rate-limited', `more than ${context.max} requests a minute; retry in ${context.after}`),
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'policy-gate',
        version: VERSION,
        description:
          'The resident gate: agents submit commands, reviewers decide, auditors read the trail. ' +
          'Errors are {"error":{"code","message"}}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.get('/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await registerRoutes(app, options);
  if (options.console) await options.console(app);
  await app.ready();

  return {
    app,
    options,
    socketHandler: (req, res) => {
      viaSocket.add(req.socket);
      handler!(req, res);
    },
  };
}

function authenticate(request: FastifyRequest, tokens: TokenStore, socket: boolean): Principal | null {
  const header = request.headers.authorization;
  const channel = socket ? 'socket' : 'http';
  if (header !== undefined) {
    const m = /^Bearer (\S+)$/.exec(header);
    const entry = m ? tokens.authenticate(m[1]!) : null;
    if (!entry)
      throw new ApiError(401, 'unauthorized', 'the bearer token is not valid (unknown, malformed or revoked)');
    return { identity: entry.identity, role: entry.role, token_id: entry.id, channel };
  }
  // the socket's file permissions let only its owner connect: a local agent needs no token
  return socket ? { identity: 'local', role: 'agent', token_id: null, channel } : null;
}

function sendError(reply: FastifyReply, thrown: unknown, request?: FastifyRequest): FastifyReply {
  const { status, body } = errorBody(thrown);
  if (status >= 500 && request) request.log.error({ err: thrown }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(status).send(body);
}

/** The status and body of an error answer. */
export function errorBody(thrown: unknown): { status: number; body: { error: Record<string, unknown> } } {
  if (thrown instanceof ApiError)
    return { status: thrown.status, body: { error: { code: thrown.code, message: thrown.message, ...thrown.extra } } };
  if (thrown instanceof GateError)
    return { status: HTTP_STATUS[thrown.code] ?? 500, body: { error: { code: thrown.code, message: thrown.oneLine } } };
  const err = thrown as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (err?.validation) return { status: 400, body: { error: { code: 'bad-request', message: String(err.message) } } };
  switch (err?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'payload-too-large', message: 'the request body is too large' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: { error: { code: 'unsupported-media-type', message: 'send JSON (content-type: application/json)' } },
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: { code: 'bad-request', message: 'the body is not valid JSON' } } };
  }
  if (err instanceof SyntaxError)
    return { status: 400, body: { error: { code: 'bad-request', message: 'the body is not valid JSON' } } };
  const status = typeof err?.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
  return status < 500
    ? { status, body: { error: { code: 'bad-request', message: String(err?.message ?? 'bad request') } } }
    : { status, body: { error: { code: 'internal', message: 'internal error: the request was not carried out' } } };
}
