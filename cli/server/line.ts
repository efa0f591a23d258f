/**
 * The Unix socket's second language: one JSON line in, JSON lines out, for the thin client,
 * which must start in little more than Node's own start-up (an HTTP client costs it 10-15 ms).
 * A connection whose first byte is `{` speaks it; anything else is handed to the HTTP server.
 *
 *   → {"v":1,"token":"pgt_…"?,"submit":{…the body of POST /v1/commands…}}
 *   ← {"held":{"command_id","risk_level","risk_score","wait_ms","deadline"}}   (only when it waits)
 *   ← {"status":201,"body":{"record","outcome","exit_code","text"?}}  or  {"status":4xx,"body":{"error":…}}
 *
 * Closing the connection while a submission waits stops the wait (the command stays pending).
 */
import type { Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { errorBody } from './app.js';
import { ApiError, type AppOptions, type Principal } from './http.js';
import { submitCommand, validSubmitBody } from './submit.js';

/** The longest request line accepted (a submission at the policy's size limit, escaped). */
const MAX_LINE = 8 * 1024 * 1024;

export function socketServer(http: Server, options: AppOptions, maxLine = MAX_LINE): NetServer {
  const open = new Set<Socket>();
  const server = createNetServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.once('readable', () => {
      const first: Buffer | null = socket.read();
      if (first === null) return socket.destroy();
      socket.unshift(first);
      if (first[0] === 0x7b) lineSession(socket, options, maxLine);
      else http.emit('connection', socket);
    });
  });
  // closing stops accepting; the connections still open (a stream, a waiting submission) are cut
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    close(callback);
    for (const socket of open) socket.destroy();
    return server;
  };
  return server;
}

function lineSession(socket: Socket, options: AppOptions, maxLine: number): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const abort = new AbortController();
  socket.on('close', () => abort.abort());
  socket.on('error', () => abort.abort());
  const reply = (obj: unknown): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(obj)}\n`);
  };
  const onData = (chunk: Buffer): void => {
    const nl = chunk.indexOf(0x0a);
    chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl));
    size += chunk.length;
    if (nl < 0 && size <= maxLine) return;
    socket.off('data', onData);
    if (nl < 0) {
      reply({
        status: 413,
        body: errorBody(new ApiError(413, 'payload-too-large', 'the request line is too long')).body,
      });
      socket.end();
      return;
    }
    void handle(Buffer.concat(chunks).toString('utf8'))
      .then((answer) => reply(answer))
      .finally(() => socket.end());
  };
  socket.on('data', onData);

  const handle = async (line: string): Promise<{ status: number; body: unknown }> => {
    try {
      let request: { v?: unknown; token?: unknown; submit?: unknown };
      try {
        request = JSON.parse(line) as typeof request;
      } catch {
        throw new ApiError(400, 'bad-request', 'the request line is not JSON');
      }
      if (request?.v !== 1) throw new ApiError(400, 'bad-request', 'unsupported protocol version (expected "v":1)');
      const principal = authenticate(options, request.token);
      const body = validSubmitBody(request.submit);
      const answer = await submitCommand(options, principal, body, abort.signal, (record, waitMs) =>
        reply({
          held: {
            command_id: record.command_id,
            risk_level: record.risk_level,
            risk_score: record.risk_score,
            wait_ms: waitMs,
            deadline: record.deadline,
          },
        }),
      );
      return { status: 201, body: answer };
    } catch (err) {
      const { status, body } = errorBody(err);
      return { status, body };
    }
  };
}

function authenticate(options: AppOptions, token: unknown): Principal {
  if (token === undefined || token === null)
    return { identity: 'local', role: 'agent', token_id: null, channel: 'socket' };
  const entry = typeof token === 'string' ? options.tokens.authenticate(token) : null;
  if (!entry) throw new ApiError(401, 'unauthorized', 'the token is not valid (unknown, malformed or revoked)');
  return { identity: entry.identity, role: entry.role, token_id: entry.id, channel: 'socket' };
}
