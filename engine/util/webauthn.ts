/**
 * WebAuthn assertions checked offline, with node:crypto only: a reviewer's passkey signs the
 * hash of a decision statement (the challenge), and anyone holding the trail can check it again
 * from the credential's COSE public key, the authenticator data, the client data and the
 * signature as stored (W3C WebAuthn Level 2, §7.2 "Verifying an Authentication Assertion").
 *
 *   signed bytes = authenticatorData ‖ SHA-256(clientDataJSON)
 *   authenticatorData = SHA-256(rpId) ‖ flags ‖ signCount (uint32) ‖ …
 *
 * The registration ceremony (attestation) is not checked here: the server verifies it when the
 * passkey is registered, and the trail keeps the public key it yielded. signCount is not
 * checked either: synced passkeys report 0 for ever, and a decision is bound to one statement.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** COSE algorithm identifiers the gate accepts (IANA "COSE Algorithms"). */
export const COSE_ALGORITHMS = { ES256: -7, EdDSA: -8, RS256: -257 } as const;
export type CoseAlgorithmName = keyof typeof COSE_ALGORITHMS;

/** A credential's public key, parsed from its COSE_Key bytes. */
export interface CosePublicKey {
  readonly alg: CoseAlgorithmName;
  /** The COSE algorithm identifier (-7, -8 or -257). */
  readonly algId: number;
  readonly key: KeyObject;
}

export class WebAuthnError extends Error {}

type Cbor = number | string | boolean | null | Buffer | Cbor[] | Map<Cbor, Cbor>;

/**
 * Decode one CBOR item (RFC 8949), the subset a COSE_Key uses: integers, byte and text strings,
 * arrays, maps, simple values. Indefinite lengths, tags and floats are refused.
 */
export function decodeCbor(bytes: Buffer): Cbor {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new WebAuthnError('CBOR: truncated');
  };
  const argument = (info: number): number => {
    if (info < 24) return info;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (width === 0) throw new WebAuthnError(`CBOR: unsupported length encoding ${info}`);
    need(width);
    const value = bytes.readUIntBE(at, width);
    at += width;
    return value;
  };
  const item = (depth: number): Cbor => {
    if (depth > 8) throw new WebAuthnError('CBOR: nested too deeply');
    need(1);
    const initial = bytes[at++]!;
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0:
        return argument(info);
      case 1:
        return -1 - argument(info);
      case 2:
      case 3: {
        const n = argument(info);
        need(n);
        const raw = bytes.subarray(at, at + n);
        at += n;
        return major === 2 ? Buffer.from(raw) : raw.toString('utf8');
      }
      case 4:
        return Array.from({ length: argument(info) }, () => item(depth + 1));
      case 5: {
        const n = argument(info);
        const map = new Map<Cbor, Cbor>();
        for (let i = 0; i < n; i++) {
          const key = item(depth + 1);
          if (map.has(key)) throw new WebAuthnError('CBOR: duplicate map key');
          map.set(key, item(depth + 1));
        }
        return map;
      }
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
    }
    throw new WebAuthnError(`CBOR: unsupported item ${major}/${info}`);
  };
  const value = item(0);
  if (at !== bytes.length) throw new WebAuthnError('CBOR: trailing bytes');
  return value;
}

const b64u = (b: Buffer): string => b.toString('base64url');

/** Parse a COSE_Key (RFC 9053) of an algorithm the gate accepts, or throw WebAuthnError saying why not. */
export function parseCoseKey(bytes: Buffer): CosePublicKey {
  const m = decodeCbor(bytes);
  if (!(m instanceof Map)) throw new WebAuthnError('the COSE key is not a CBOR map');
  const bytesAt = (label: number): string => {
    const v = m.get(label);
    if (!Buffer.isBuffer(v) || v.length === 0) throw new WebAuthnError(`the COSE key has no parameter ${label}`);
    return b64u(v);
  };
  const kty = m.get(1);
  const alg = m.get(3);
  const crv = m.get(-1);
  try {
    if (kty === 2 && alg === COSE_ALGORITHMS.ES256 && crv === 1) {
      const jwk = { kty: 'EC', crv: 'P-256', x: bytesAt(-2), y: bytesAt(-3) };
      return { alg: 'ES256', algId: alg, key: createPublicKey({ format: 'jwk', key: jwk }) };
    }
    if (kty === 1 && alg === COSE_ALGORITHMS.EdDSA && crv === 6) {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: bytesAt(-2) };
      return { alg: 'EdDSA', algId: alg, key: createPublicKey({ format: 'jwk', key: jwk }) };
    }
    if (kty === 3 && alg === COSE_ALGORITHMS.RS256) {
      const jwk = { kty: 'RSA', n: bytesAt(-1), e: bytesAt(-2) };
      return { alg: 'RS256', algId: alg, key: createPublicKey({ format: 'jwk', key: jwk }) };
    }
  } catch (err) {
    if (err instanceof WebAuthnError) throw err;
    throw new WebAuthnError(`the COSE key is not a valid public key: ${(err as Error).message}`);
  }
  throw new WebAuthnError(
    `unsupported COSE key (kty ${String(kty)}, alg ${String(alg)}): ES256 (-7), EdDSA (-8) and RS256 (-257) are accepted`,
  );
}

/** Does `signature` over `data` verify with this key (DER ECDSA for ES256, as WebAuthn sends it)? */
function signatureVerifies(key: CosePublicKey, data: Buffer, signature: Buffer): boolean {
  try {
    switch (key.alg) {
      case 'ES256':
        return cryptoVerify('sha256', data, { key: key.key, dsaEncoding: 'der' }, signature);
      case 'EdDSA':
        return cryptoVerify(null, data, key.key, signature);
      case 'RS256':
        return cryptoVerify('sha256', data, key.key, signature);
    }
  } catch {
    return false;
  }
}

/** One stored assertion (all base64url, as the browser's PublicKeyCredential JSON carries them). */
export interface StoredAssertion {
  /** The credential's COSE_Key, recorded when it was registered. */
  readonly publicKey: string;
  readonly authenticatorData: string;
  readonly clientDataJSON: string;
  readonly signature: string;
}

export interface AssertionExpectations {
  /** base64url (no padding) of the bytes the ceremony had to sign: SHA-256 of the statement. */
  readonly challenge: string;
  /** The origin the credential was registered from (scheme, host and port). */
  readonly origin: string;
  readonly rpId: string;
  readonly requireUserVerification: boolean;
}

export type AssertionCheck =
  { readonly ok: true; readonly alg: CoseAlgorithmName } | { readonly ok: false; readonly reason: string };

const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** The challenge for a statement: base64url of its SHA-256, as the ceremony must have been given it. */
export function statementChallenge(statement: string): string {
  return b64u(sha256(Buffer.from(statement, 'utf8')));
}

/**
 * Check a WebAuthn assertion offline: the signature, then what the client and the authenticator
 * said about the ceremony. Returns the first thing wrong, in one line.
 */
export function verifyAssertion(assertion: StoredAssertion, expected: AssertionExpectations): AssertionCheck {
  const fail = (reason: string): AssertionCheck => ({ ok: false, reason });
  let key: CosePublicKey;
  try {
    key = parseCoseKey(Buffer.from(assertion.publicKey, 'base64url'));
  } catch (err) {
    return fail((err as Error).message);
  }
  const authData = Buffer.from(assertion.authenticatorData, 'base64url');
  const clientData = Buffer.from(assertion.clientDataJSON, 'base64url');
  const signature = Buffer.from(assertion.signature, 'base64url');
  if (!signatureVerifies(key, Buffer.concat([authData, sha256(clientData)]), signature))
    return fail(`the ${key.alg} signature does not verify with the registered passkey`);
  // parsed, never compared with a template: browsers add members (Chromium does, at random)
  let client: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(clientData.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return fail('clientDataJSON is not an object');
    client = parsed as Record<string, unknown>;
  } catch {
    return fail('clientDataJSON is not JSON');
  }
  if (client.type !== 'webauthn.get') return fail(`the ceremony is ${JSON.stringify(client.type)}, not webauthn.get`);
  if (client.challenge !== expected.challenge)
    return fail('the passkey signed another challenge than this statement’s hash');
  if (client.origin !== expected.origin)
    return fail(`the ceremony ran at ${JSON.stringify(client.origin)}, not at ${expected.origin}`);
  if (client.crossOrigin === true || client.topOrigin !== undefined)
    return fail('the ceremony ran in a cross-origin frame');
  if (authData.length < 37) return fail('the authenticator data is too short');
  if (!authData.subarray(0, 32).equals(sha256(expected.rpId)))
    return fail(`the assertion is not for the RP ID ${expected.rpId}`);
  const flags = authData[32]!;
  if (!(flags & FLAG_UP)) return fail('the authenticator did not see the user present');
  if (expected.requireUserVerification && !(flags & FLAG_UV)) return fail('the authenticator did not verify the user');
  if (flags & FLAG_AT) return fail('the authenticator data carries attested credential data, as a registration does');
  return { ok: true, alg: key.alg };
}

/**
 * A passkey's assertion over a decision statement, checked as the gate and `verify` both check
 * it: the challenge is the statement's hash, the origin and RP ID those the passkey was
 * registered with, the user verified. Fields are named as the trail stores them.
 */
export function verifyStatementAssertion(
  statement: string,
  passkey: { readonly public_key: string; readonly origin: string; readonly rp_id: string },
  assertion: { readonly authenticator_data: string; readonly client_data_json: string; readonly signature: string },
): AssertionCheck {
  return verifyAssertion(
    {
      publicKey: passkey.public_key,
      authenticatorData: assertion.authenticator_data,
      clientDataJSON: assertion.client_data_json,
      signature: assertion.signature,
    },
    {
      challenge: statementChallenge(statement),
      origin: passkey.origin,
      rpId: passkey.rp_id,
      requireUserVerification: true,
    },
  );
}
