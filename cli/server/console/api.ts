/**
 * The console's only way to the server: the API with the reviewer's bearer token. The token
 * comes in the URL fragment (`#token=…`, never sent to a server, so never logged), moves to
 * this tab's sessionStorage, and the fragment is cleared. No cookies: a page on another origin
 * cannot make the browser send the token.
 */
import type { GateEvent } from './types.js';

const KEY = 'policy-gate.token';

/** An answer of the API other than 2xx: its stable error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Take a token from the fragment (and clear it), else the one this tab had. */
export function loadToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]!));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

function token(): string {
  return sessionStorage.getItem(KEY) ?? '';
}

export function authHeader(): Record<string, string> {
  return { authorization: `Bearer ${token()}` };
}

async function failure(res: Response): Promise<ApiError> {
  let code = `http-${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } | string; message?: string };
    if (typeof body.error === 'object' && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    } else if (typeof body.error === 'string') message = body.message ?? body.error;
  } catch {
    /* not JSON: the status says it */
  }
  return new ApiError(res.status, code, message);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...authHeader(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);

/** A query string from the fields that are set. */
export function query(fields: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Server-sent events read with fetch (EventSource cannot send the Authorization header):
 * yields each event until the stream ends or `signal` aborts.
 */
export async function* events(path: string, signal: AbortSignal): AsyncGenerator<GateEvent> {
  const res = await fetch(path, { headers: { ...authHeader(), accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue; // a comment (keep-alive) or a retry hint
      try {
        yield { type, data: JSON.parse(data.join('\n')) as GateEvent['data'] };
      } catch {
        /* not JSON: not an event of ours */
      }
    }
  }
}
