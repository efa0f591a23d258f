/**
 * OpenSSH signatures (PROTOCOL.sshsig) for reviewers' decisions, ed25519 only.
 *
 * Verification is done here, in process, so the gate needs no ssh tooling to check a decision;
 * the same bytes verify with `ssh-keygen -Y verify -n policy-gate`, so anyone can re-check a
 * stored decision offline. Signing is left to `ssh-keygen -Y sign`, which handles passphrases,
 * ssh-agent and hardware keys.
 *
 *   blob   = "SSHSIG" ‖ uint32 1 ‖ string publickey ‖ string namespace ‖ string reserved
 *            ‖ string hash_algorithm ‖ string signature
 *   signed = "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash_algorithm ‖ string H(message)
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { GateError } from './errors.js';

export const SIGNATURE_NAMESPACE = 'policy-gate';
const MAGIC = Buffer.from('SSHSIG', 'ascii');
const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';

/** An OpenSSH ed25519 public key. */
export interface Ed25519PublicKey {
  /** The SSH wire blob: string "ssh-ed25519" ‖ string key. */
  readonly blob: Buffer;
  /** The 32 raw key bytes. */
  readonly raw: Buffer;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  readonly fingerprint: string;
}

export class SshKeyError extends Error {}

class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw new SshKeyError('truncated');
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.uint32());
  }
  get done(): boolean {
    return this.offset === this.buf.length;
  }
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function keyFromBlob(blob: Buffer): Ed25519PublicKey {
  const r = new Reader(blob);
  const type = r.string().toString('utf8');
  if (type !== 'ssh-ed25519') throw new SshKeyError(`key type ${type} is not supported: use ssh-ed25519`);
  const raw = r.string();
  if (raw.length !== 32 || !r.done) throw new SshKeyError('malformed ssh-ed25519 key');
  return { blob: Buffer.from(blob), raw: Buffer.from(raw), fingerprint: fingerprint(blob) };
}

/** Parse an `ssh-ed25519 AAAA… comment` line (the .pub file format). */
export function parsePublicKey(line: string): Ed25519PublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) throw new SshKeyError('expected "ssh-ed25519 AAAA… [comment]"');
  if (parts[0] !== 'ssh-ed25519') throw new SshKeyError(`key type ${parts[0]} is not supported: use ssh-ed25519`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(parts[1]!)) throw new SshKeyError('the key is not base64');
  const key = keyFromBlob(Buffer.from(parts[1]!, 'base64'));
  if (key.blob.toString('base64') !== parts[1]) throw new SshKeyError('the key is not canonical base64');
  return key;
}

function nodeKey(key: Ed25519PublicKey): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.raw.toString('base64url') }, format: 'jwk' });
}

export interface ParsedSignature {
  readonly key: Ed25519PublicKey;
  readonly namespace: string;
  readonly hashAlgorithm: string;
  readonly signature: Buffer;
}

/** Parse an armored SSHSIG; throws SshKeyError naming what is wrong. */
export function parseSignature(armored: string): ParsedSignature {
  const text = armored.trim();
  if (!text.startsWith(ARMOR_BEGIN) || !text.endsWith(ARMOR_END)) throw new SshKeyError('not an armored SSH signature');
  const body = text.slice(ARMOR_BEGIN.length, text.length - ARMOR_END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new SshKeyError('the signature is not base64');
  const r = new Reader(Buffer.from(body, 'base64'));
  if (!r.bytes(6).equals(MAGIC)) throw new SshKeyError('not an SSHSIG signature');
  const version = r.uint32();
  if (version !== 1) throw new SshKeyError(`SSHSIG version ${version} is not supported`);
  const key = keyFromBlob(r.string());
  const namespace = r.string().toString('utf8');
  r.string(); // reserved
  const hashAlgorithm = r.string().toString('utf8');
  const sig = new Reader(r.string());
  if (!r.done) throw new SshKeyError('trailing bytes after the signature');
  const sigType = sig.string().toString('utf8');
  if (sigType !== 'ssh-ed25519') throw new SshKeyError(`signature type ${sigType} is not supported`);
  const signature = sig.string();
  if (signature.length !== 64 || !sig.done) throw new SshKeyError('malformed ed25519 signature');
  return { key, namespace, hashAlgorithm, signature: Buffer.from(signature) };
}

/**
 * Does `armored` sign `message` with `expected` in the policy-gate namespace? Every way it can
 * fail is an answer, never an exception: the caller records refusals.
 */
export function verifySignature(
  message: Buffer,
  armored: string,
  expected: Ed25519PublicKey,
): { ok: true } | { ok: false; why: 'malformed' | 'wrong-key' | 'wrong-namespace' | 'bad-signature'; message: string } {
  let parsed: ParsedSignature;
  try {
    parsed = parseSignature(armored);
  } catch (err) {
    return { ok: false, why: 'malformed', message: `the signature cannot be read: ${(err as Error).message}` };
  }
  if (!parsed.key.blob.equals(expected.blob)) {
    return {
      ok: false,
      why: 'wrong-key',
      message: `signed with key ${parsed.key.fingerprint}, not the reviewer's key ${expected.fingerprint}`,
    };
  }
  if (parsed.namespace !== SIGNATURE_NAMESPACE) {
    return {
      ok: false,
      why: 'wrong-namespace',
      message: `signed for namespace "${parsed.namespace}", not "${SIGNATURE_NAMESPACE}"`,
    };
  }
  if (parsed.hashAlgorithm !== 'sha512' && parsed.hashAlgorithm !== 'sha256') {
    return { ok: false, why: 'malformed', message: `hash algorithm ${parsed.hashAlgorithm} is not supported` };
  }
  const digest = createHash(parsed.hashAlgorithm).update(message).digest();
  const signed = Buffer.concat([
    MAGIC,
    sshString(parsed.namespace),
    sshString(''),
    sshString(parsed.hashAlgorithm),
    sshString(digest),
  ]);
  const good = cryptoVerify(null, signed, nodeKey(expected), parsed.signature);
  return good
    ? { ok: true }
    : { ok: false, why: 'bad-signature', message: 'the signature does not match the decision' };
}

/**
 * Sign `message` with `ssh-keygen -Y sign -n policy-gate -f KEY`. KEY is a private key file, or
 * a public key file whose private half is in ssh-agent. A passphrase is asked on the terminal.
 */
export function signWithSshKeygen(
  message: Buffer,
  keyFile: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const result = spawnSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-f', keyFile], {
    input: message,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: env as NodeJS.ProcessEnv,
    timeout: 120_000,
  });
  if (result.error) {
    throw new GateError('usage', `cannot run ssh-keygen to sign the decision: ${result.error.message}`, {
      hint: 'install OpenSSH (ssh-keygen 8.2 or newer)',
    });
  }
  const out = result.stdout.toString('utf8');
  if (result.status !== 0 || !out.includes(ARMOR_BEGIN)) {
    const why = result.stderr.toString('utf8').trim().split('\n').pop() || `exit ${result.status}`;
    throw new GateError('usage', `ssh-keygen could not sign with ${keyFile}: ${why}`, {
      hint: 'pass --key with your ed25519 private key, or its .pub file when the key is in ssh-agent',
    });
  }
  return out.trim() + '\n';
}
