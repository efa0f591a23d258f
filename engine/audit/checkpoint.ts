/**
 * Signed checkpoints of the audit chain, in the C2SP signed-note / tlog-checkpoint text format:
 *
 *   <origin>\n<size>\n<base64 chain hash after event #size>\n
 *   \n
 *   — <key name> <base64(key id ‖ Ed25519 signature over the text above the blank line)>\n
 *
 * key id = SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)[0:4]. The gate's key is Ed25519
 * (node:crypto), created on first use next to the store (gate.key, mode 0400); its verifier key
 * (`<name>+<hex key id>+<base64(0x01 ‖ public key)>`) is pinned in `trusted-keys` there, and can be
 * pinned anywhere else an auditor keeps it. A checkpoint copied off the machine is what makes
 * truncation or a rewrite detectable even by someone holding the key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { appendFileSync, existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GateError, describeCause } from '../util/errors.js';
import { makeDirectories } from '../util/fs.js';

const SIG_TYPE_ED25519 = 0x01;
const DASH = '\u2014';

export interface VerifierKey {
  readonly name: string;
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
  /** The `name+hexid+base64` text form. */
  readonly text: string;
}

export interface CheckpointSigner extends VerifierKey {
  signNote(body: string): string;
  /** A base64 Ed25519 signature over `text`. */
  sign(text: string): string;
}

/** What both keys sign when the gate's key is rotated. */
export function rotationStatement(oldKey: string, newKey: string, at: string): string {
  return `policy-gate/key-rotation/v1\n${oldKey}\n${newKey}\n${at}\n`;
}

/** Does `signature` (base64 Ed25519) sign `text` with `key`? */
export function verifyWith(key: VerifierKey, text: string, signature: string): boolean {
  const sig = Buffer.from(signature, 'base64');
  return sig.length === 64 && verify(null, Buffer.from(text, 'utf8'), nodePublicKey(key.publicKey), sig);
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The chain hash after event #size (32 bytes). */
  readonly chain: Buffer;
  readonly note: string;
  /** Signatures on the note: key name, key id. */
  readonly signatures: readonly { name: string; keyId: Buffer; signature: Buffer }[];
}

function keyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(name)
    .update('\n')
    .update(Buffer.from([SIG_TYPE_ED25519]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' }) as { x: string };
  return Buffer.from(jwk.x, 'base64url');
}

const keyObjects = new Map<string, KeyObject>();

function nodePublicKey(raw: Buffer): KeyObject {
  const hex = raw.toString('hex');
  let key = keyObjects.get(hex);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    keyObjects.set(hex, key);
  }
  return key;
}

export function verifierKeyText(name: string, publicKey: Buffer): string {
  const key = Buffer.concat([Buffer.from([SIG_TYPE_ED25519]), publicKey]).toString('base64');
  return `${name}+${keyId(name, publicKey).toString('hex')}+${key}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  // the base64 part may itself contain "+": split at the first two only
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!m) throw new GateError('usage', `not a verifier key (name+hexid+base64): ${JSON.stringify(text.slice(0, 60))}`);
  const [, name, hex, b64] = m as unknown as [string, string, string, string];
  const blob = Buffer.from(b64, 'base64');
  if (blob.length !== 33 || blob[0] !== SIG_TYPE_ED25519)
    throw new GateError('usage', `verifier key ${name}: not an Ed25519 key`);
  const publicKey = blob.subarray(1);
  const id = keyId(name, publicKey);
  if (id.toString('hex') !== hex)
    throw new GateError('usage', `verifier key ${name}: the key id does not match the key`);
  return { name, keyId: id, publicKey, text: text.trim() };
}

export const KEY_FILE = 'gate.key';
export const TRUSTED_KEYS_FILE = 'trusted-keys';

/**
 * The gate's signing key in `dir`: created on first use, atomically (written aside, then linked
 * into place, so a crash or a concurrent first use never leaves half a key), mode 0400. When
 * `trusted-keys` does not exist yet, the new key's verifier key is pinned there; an existing pin
 * is never rewritten (a replaced key then fails verification instead of trusting itself).
 */
export function gateSigner(dir: string, file = join(dir, KEY_FILE)): CheckpointSigner {
  let stored: { name: string; pkcs8: string };
  try {
    if (!existsSync(file)) createKey(dir, file);
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
    } catch {
      throw new Error(`${file} is not a policy-gate key file`);
    }
    if (typeof stored?.name !== 'string' || typeof stored.pkcs8 !== 'string')
      throw new Error(`${file} is not a policy-gate key file`);
  } catch (err) {
    throw new GateError(
      'store-unavailable',
      `audit store ${dir}: the gate's signing key cannot be used: ${describeCause(err)}`,
      { hint: 'the command must not run; check the store directory' },
    );
  }
  const privateKey = createPrivateKey({ key: Buffer.from(stored.pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
  const name = stored.name;
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const id = keyId(name, publicKey);
  const text = verifierKeyText(name, publicKey);
  const pins = join(dir, TRUSTED_KEYS_FILE);
  if (file === join(dir, KEY_FILE) && !existsSync(pins)) {
    try {
      writeFileSync(pins, `${text}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      /* another process pinned first */
    }
  }
  return {
    name,
    keyId: id,
    publicKey,
    text,
    sign(text: string): string {
      return sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64');
    },
    signNote(body: string): string {
      const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
      return `${body}\n${DASH} ${name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
    },
  };
}

/**
 * Replace the gate's key: the new key is made aside, the caller records the rotation (signed by
 * both keys) in the trail, then `install()` retires the old key file, puts the new one in place
 * and pins it. A crash before install leaves the old key in use, and still trusted.
 */
export function prepareRotation(
  dir: string,
  at: string,
): { old: CheckpointSigner; next: CheckpointSigner; statement: string; install(): void } {
  const old = gateSigner(dir);
  const nextFile = join(dir, `${KEY_FILE}.next`);
  if (existsSync(nextFile)) unlinkSync(nextFile); // a rotation that crashed before install
  const next = gateSigner(dir, nextFile);
  const statement = rotationStatement(old.text, next.text, at);
  return {
    old,
    next,
    statement,
    install(): void {
      renameSync(join(dir, KEY_FILE), join(dir, `${KEY_FILE}.${old.keyId.toString('hex')}.retired`));
      renameSync(nextFile, join(dir, KEY_FILE));
      appendFileSync(join(dir, TRUSTED_KEYS_FILE), `${next.text}\n`, { mode: 0o600 });
    },
  };
}

function createKey(dir: string, file: string): void {
  makeDirectories(dir);
  const pair = generateKeyPairSync('ed25519');
  const name = `policy-gate.${hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'local'}`;
  const pkcs8 = (pair.privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ name, pkcs8 })}\n`, { mode: 0o400 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** The verifier keys pinned in `dir/trusted-keys` (empty when there is none). */
export function trustedKeys(dir: string): VerifierKey[] {
  const file = join(dir, TRUSTED_KEYS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(parseVerifierKey);
}

export function checkpointBody(origin: string, size: number, chain: Buffer): string {
  return `${origin}\n${size}\n${chain.toString('base64')}\n`;
}

/** Parse a checkpoint note; throws an Error naming what is malformed. */
export function parseCheckpoint(note: string): Checkpoint {
  const split = note.indexOf('\n\n');
  if (split === -1) throw new Error('no blank line between the checkpoint and its signatures');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length < 4) throw new Error('a checkpoint has an origin, a size and a hash');
  const [origin, sizeText, hashText] = lines as [string, string, string];
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error(`bad size line ${JSON.stringify(sizeText)}`);
  const chain = Buffer.from(hashText, 'base64');
  if (chain.length !== 32 || chain.toString('base64') !== hashText) throw new Error('bad hash line');
  const signatures: Checkpoint['signatures'][number][] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    if (line === '') continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (!m) throw new Error(`bad signature line ${JSON.stringify(line.slice(0, 40))}`);
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length < 5) throw new Error('signature too short');
    signatures.push({ name: m[1]!, keyId: blob.subarray(0, 4), signature: blob.subarray(4) });
  }
  if (signatures.length === 0) throw new Error('the checkpoint is not signed');
  return { origin, size: Number(sizeText), chain, note, signatures };
}

/** The first signature by one of `keys` that verifies, or null. */
export function verifyCheckpoint(cp: Checkpoint, keys: readonly VerifierKey[]): VerifierKey | null {
  const body = Buffer.from(cp.note.slice(0, cp.note.indexOf('\n\n') + 1), 'utf8');
  for (const s of cp.signatures) {
    const key = keys.find((k) => k.name === s.name && k.keyId.equals(s.keyId));
    if (key && s.signature.length === 64 && verify(null, body, nodePublicKey(key.publicKey), s.signature)) return key;
  }
  return null;
}

/**
 * The checkpoint notes in a text that holds several (a witness file, a log's output): each is
 * an origin line, a size, a hash, a blank line (tolerated missing: some logs drop empty lines)
 * and one or more signature lines. Returned in their canonical form, in order.
 */
export function splitCheckpoints(text: string): string[] {
  const notes: string[] = [];
  const note = /^([^\n]+)\n(0|[1-9][0-9]*)\n([A-Za-z0-9+/]{43}=)\n\n?((?:\u2014 [^\n]+(?:\n|$))+)/gm;
  for (const m of text.matchAll(note)) {
    const signatures = m[4]!.endsWith('\n') ? m[4]! : `${m[4]!}\n`;
    notes.push(`${m[1]!}\n${m[2]!}\n${m[3]!}\n\n${signatures}`);
  }
  return notes;
}
