/**
 * A software WebAuthn authenticator for tests: real ES256 and Ed25519 keys from node:crypto, a
 * COSE_Key as an authenticator reports it, and assertions signed as a browser and authenticator
 * together make them (authenticatorData ‖ SHA-256(clientDataJSON)). Every part of the ceremony
 * can be bent (origin, RP ID, flags, type, challenge) to test what the gate refuses.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** A tiny CBOR encoder: small ints as map keys and values, byte strings (what a COSE_Key holds). */
function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
}
function cborInt(n: number): Buffer {
  return n >= 0 ? cborHead(0, n) : cborHead(1, -1 - n);
}
function coseKey(entries: [number, number | Buffer][]): Buffer {
  return Buffer.concat([
    cborHead(5, entries.length),
    ...entries.flatMap(([k, v]) => [
      cborInt(k),
      typeof v === 'number' ? cborInt(v) : Buffer.concat([cborHead(2, v.length), v]),
    ]),
  ]);
}

export interface AssertionOptions {
  readonly origin?: string;
  readonly rpId?: string;
  /** Authenticator flags (default UP | UV). */
  readonly flags?: number;
  readonly type?: string;
  readonly crossOrigin?: boolean;
}

export interface Assertion {
  readonly authenticator_data: string;
  readonly client_data_json: string;
  readonly signature: string;
}

export const UP = 0x01;
export const UV = 0x04;
export const AT = 0x40;

export class SoftPasskey {
  readonly credentialId = randomBytes(16).toString('base64url');
  readonly cose: Buffer;
  private readonly privateKey: KeyObject;
  private signCount = 0;

  constructor(
    readonly alg: -7 | -8,
    readonly origin = 'http://localhost:7420',
    readonly rpId = 'localhost',
  ) {
    if (alg === -7) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      this.privateKey = privateKey;
      this.cose = coseKey([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]);
    } else {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const jwk = publicKey.export({ format: 'jwk' });
      this.privateKey = privateKey;
      this.cose = coseKey([
        [1, 1],
        [3, -8],
        [-1, 6],
        [-2, Buffer.from(jwk.x!, 'base64url')],
      ]);
    }
  }

  /** Sign `challenge` (base64url) as navigator.credentials.get() would at `origin`. */
  assert(challenge: string, options: AssertionOptions = {}): Assertion {
    const rpIdHash = createHash('sha256')
      .update(options.rpId ?? this.rpId)
      .digest();
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.signCount);
    const authData = Buffer.concat([rpIdHash, Buffer.from([options.flags ?? UP | UV]), counter]);
    // as Chromium sends it, extra member included: the gate must parse, never compare bytes
    const clientData = Buffer.from(
      JSON.stringify({
        type: options.type ?? 'webauthn.get',
        challenge,
        origin: options.origin ?? this.origin,
        crossOrigin: options.crossOrigin ?? false,
        other_keys_can_be_added_here: 'do not compare clientDataJSON against a template',
      }),
    );
    const signed = Buffer.concat([authData, createHash('sha256').update(clientData).digest()]);
    const signature = this.alg === -7 ? sign('sha256', signed, this.privateKey) : sign(null, signed, this.privateKey);
    return {
      authenticator_data: authData.toString('base64url'),
      client_data_json: clientData.toString('base64url'),
      signature: signature.toString('base64url'),
    };
  }
}
