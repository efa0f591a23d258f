/**
 * The web review console: static files built into the bundle (scripts/console-assets.mjs),
 * served at /ui/. The files are public; everything they show comes from the API, which still
 * needs the reviewer's token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import assets from 'policy-gate:console-assets';

/**
 * The console page's policy: only its own scripts, styles and API. The asciinema player runs a
 * terminal emulator compiled to WebAssembly, which needs 'wasm-unsafe-eval' (WebAssembly
 * compilation only, not JavaScript eval); nothing else on the server gets it.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function sendAsset(req: FastifyRequest<{ Params: { file?: string } }>, reply: FastifyReply): FastifyReply {
  const name = req.params.file || 'index.html';
  // own properties only: '/ui/constructor' must not find Object.prototype.constructor
  const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
  if (!asset) return reply.code(404).send({ error: { code: 'not-found', message: `no console file ${name}` } });
  reply.header('content-security-policy', CONSOLE_CSP).header('etag', asset.etag).header('cache-control', 'no-cache');
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(Buffer.from(asset.body, 'base64'));
}

/** Serve the console at /ui/ (and send / and /ui there). */
export function registerConsole(app: FastifyInstance): void {
  const open = { config: { public: true } };
  app.get('/', open, (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', open, (_req, reply) => reply.redirect('/ui/'));
  app.get<{ Params: { file?: string } }>('/ui/:file', open, sendAsset);
  // browsers ask for it on their own; an empty answer keeps a 404 out of every page's log
  app.get('/favicon.ico', open, (_req, reply) => reply.code(204).send());
}
