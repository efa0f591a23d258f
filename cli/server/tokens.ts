/**
 * API tokens of a resident gate: one per identity, with a role. Only each token's SHA-256 is
 * kept (in the state directory, `tokens.json`, mode 0600); the token itself is shown once, when
 * it is created. A running server reads the file again when it changes, so a revoked token
 * stops working at once.
 *
 * A token reads `pgt_<id>_<secret>`: the id names it in lists and in the trail (never the
 * secret), the secret is 32 random bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GateError, usageError } from '../../engine/util/errors.js';

export const ROLES = ['agent', 'reviewer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  readonly id: string;
  /** Who the token speaks for: an agent's name, or a reviewer's id in reviewers.yaml. */
  readonly identity: string;
  readonly role: Role;
  /** SHA-256 (hex) of the whole token. */
  readonly sha256: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
  /** A note for whoever lists the tokens. */
  readonly note: string | null;
}

interface TokenFile {
  readonly version: 1;
  readonly tokens: readonly TokenEntry[];
}

const TOKEN = /^pgt_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenFile(stateDir: string): string {
  return join(stateDir, 'tokens.json');
}

/** The tokens of one state directory, read again whenever the file changes. */
export class TokenStore {
  private byHash = new Map<string, TokenEntry>();
  private entries: readonly TokenEntry[] = [];
  private seen = '';

  constructor(readonly path: string) {}

  static forState(stateDir: string): TokenStore {
    return new TokenStore(tokenFile(stateDir));
  }

  /** Every token, revoked ones included. */
  list(): readonly TokenEntry[] {
    this.refresh();
    return this.entries;
  }

  /** The live token a bearer string is, or null (unknown, malformed or revoked). */
  authenticate(token: string): TokenEntry | null {
    if (!TOKEN.test(token)) return null;
    this.refresh();
    const entry = this.byHash.get(tokenHash(token));
    return entry && entry.revoked_at === null ? entry : null;
  }

  /** A new token for `identity`: returns the token (shown once) and what is stored of it. */
  create(identity: string, role: Role, note: string | null, now = new Date()): { token: string; entry: TokenEntry } {
    if (!IDENTITY.test(identity))
      throw usageError(
        `--name ${JSON.stringify(identity)}: an identity is 1-128 letters, digits, '.', '_', '@' or '-'`,
      );
    if (!ROLES.includes(role)) throw usageError(`--role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`);
    const id = randomBytes(6).toString('hex');
    const token = `pgt_${id}_${randomBytes(32).toString('base64url')}`;
    const entry: TokenEntry = {
      id,
      identity,
      role,
      sha256: tokenHash(token),
      created_at: now.toISOString(),
      revoked_at: null,
      note,
    };
    this.write([...this.list(), entry]);
    return { token, entry };
  }

  /** Revoke a token by id (or by the token itself); returns what was revoked. */
  revoke(idOrToken: string, now = new Date()): TokenEntry {
    const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
    const entries = this.list();
    const found = entries.find((e) => e.id === id);
    if (!found) throw new GateError('not-found', `no token ${JSON.stringify(id)} in ${this.path}`);
    if (found.revoked_at !== null) return found;
    const revoked = { ...found, revoked_at: now.toISOString() };
    this.write(entries.map((e) => (e.id === id ? revoked : e)));
    return revoked;
  }

  private refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      stamp = 'none';
    }
    if (stamp === this.seen) return;
    const entries = stamp === 'none' ? [] : parseTokenFile(readFileSync(this.path, 'utf8'), this.path);
    this.entries = entries;
    this.byHash = new Map(entries.map((e) => [e.sha256, e]));
    this.seen = stamp;
  }

  private write(entries: readonly TokenEntry[]): void {
    const dir = join(this.path, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ version: 1, tokens: entries } satisfies TokenFile, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.seen = '';
  }
}

function parseTokenFile(text: string, path: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new GateError('input', `${path} is not JSON (${(err as Error).message}): no token is accepted`);
  }
  const tokens = (doc as Partial<TokenFile> | null)?.tokens;
  if ((doc as Partial<TokenFile> | null)?.version !== 1 || !Array.isArray(tokens))
    throw new GateError('input', `${path} is not a policy-gate token file (version 1): no token is accepted`);
  return tokens.filter(
    (t): t is TokenEntry =>
      typeof t?.id === 'string' &&
      typeof t.identity === 'string' &&
      typeof t.sha256 === 'string' &&
      ROLES.includes(t.role) &&
      (t.revoked_at === null || typeof t.revoked_at === 'string'),
  );
}
