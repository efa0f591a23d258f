/**
 * Reviewers' passkeys (WebAuthn credentials), registered in the audit trail itself: a
 * PASSKEY_REGISTERED event names the reviewer, the credential id and its COSE public key, the
 * RP ID and origin of the ceremony. A decision signed with the passkey is checked against that
 * event, by the gate when it is made and by `verify` later, from the trail alone.
 *
 * The registration ceremony (attestation, challenge, origin) is the server's to verify, with a
 * WebAuthn library, before it calls `registerPasskey`; the gate checks what it records: a
 * reviewer in reviewers.yaml, a public key of an accepted algorithm, a credential id no other
 * reviewer holds.
 */
import type { AuditReader, AuditStore } from '../audit/store.js';
import type { Passkey, PasskeyRegisteredBody } from '../model/events.js';
import { GateError } from '../util/errors.js';
import { parseCoseKey, WebAuthnError } from '../util/webauthn.js';
import type { Clock } from './clock.js';
import type { Policy } from './policy.js';
import { effectiveReviewers } from './reviewers.js';

/** A credential the server has verified the registration ceremony of. */
export interface PasskeyRegistration {
  /** The reviewer (an id in reviewers.yaml) the passkey is for. */
  readonly reviewer: string;
  /** The credential id, base64url. */
  readonly credential_id: string;
  /** The credential's COSE_Key, as the registration yielded it. */
  readonly public_key: Uint8Array;
  /** The COSE algorithm the registration reported (-7, -8 or -257): must be the key's. */
  readonly alg: number;
  readonly rp_id: string;
  /** The origin of the ceremony (`http://localhost:7420`): decisions must come from it too. */
  readonly origin: string;
  /** Who registered it, and how they were authenticated (`via: 'token'`). */
  readonly registered_by: { readonly identity: string; readonly via: string };
  readonly transports?: readonly string[] | undefined;
  readonly aaguid?: string | undefined;
  readonly user_verified: boolean;
}

/** Registered passkeys by credential id, as of the reader's state: the latest registration of an id wins. */
export async function registeredPasskeys(reader: AuditReader): Promise<Map<string, Passkey>> {
  const passkeys = new Map<string, Passkey>();
  for (const e of await reader.gateEvents('PASSKEY_REGISTERED')) {
    const { type: _type, command_id: _none, ...passkey } = e.body as PasskeyRegisteredBody;
    passkeys.set(passkey.credential_id, passkey);
  }
  return passkeys;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Why this registration cannot be recorded as it is, or null (the public key parsed). */
function registrationProblem(r: PasskeyRegistration): string | null {
  if (!BASE64URL.test(r.credential_id) || r.credential_id.length > 1366)
    return 'the credential id must be base64url (without padding), at most 1023 bytes';
  let url: URL;
  try {
    url = new URL(r.origin);
  } catch {
    return `the origin ${JSON.stringify(r.origin)} is not a URL`;
  }
  if (url.origin !== r.origin || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    return `the origin ${JSON.stringify(r.origin)} must be scheme://host[:port], nothing more`;
  if (url.hostname !== r.rp_id && !url.hostname.endsWith(`.${r.rp_id}`))
    return `the RP ID ${JSON.stringify(r.rp_id)} is not the origin's host or a suffix of it`;
  try {
    const key = parseCoseKey(Buffer.from(r.public_key));
    if (key.algId !== r.alg) return `the public key is ${key.alg} (${key.algId}), not the alg ${r.alg} reported`;
  } catch (err) {
    if (err instanceof WebAuthnError) return err.message;
    throw err;
  }
  return null;
}

/**
 * Record a passkey for a reviewer listed in reviewers.yaml (as the gate reads it: the protected
 * ref's with gitops.require_reviewed). Refused (GateError 'input') when the reviewer is not
 * listed, the key is not usable, or another reviewer registered the same credential id.
 */
export async function registerPasskey(
  registration: PasskeyRegistration,
  deps: { policy: Policy; store: AuditStore; clock: Clock },
): Promise<Passkey> {
  const { policy, store, clock } = deps;
  const { reviewers, source } = effectiveReviewers(policy);
  if (!reviewers.has(registration.reviewer))
    throw new GateError('input', `"${registration.reviewer}" is not a reviewer in ${source}: no passkey registered`);
  const problem = registrationProblem(registration);
  if (problem) throw new GateError('input', `passkey of ${registration.reviewer} not registered: ${problem}`);
  return store.atomically(async (tx) => {
    const holder = (await registeredPasskeys(tx)).get(registration.credential_id);
    if (holder && holder.reviewer !== registration.reviewer)
      throw new GateError(
        'input',
        `the credential ${registration.credential_id} is registered to ${holder.reviewer}: it cannot be ${registration.reviewer}'s too`,
      );
    const body: PasskeyRegisteredBody = {
      type: 'PASSKEY_REGISTERED',
      command_id: null,
      at: clock.wall().toISOString(),
      reviewer: registration.reviewer,
      credential_id: registration.credential_id,
      public_key: Buffer.from(registration.public_key).toString('base64url'),
      alg: registration.alg,
      rp_id: registration.rp_id,
      origin: registration.origin,
      registered_by: { identity: registration.registered_by.identity, via: registration.registered_by.via },
      ...(registration.transports ? { transports: [...registration.transports] } : {}),
      ...(registration.aaguid ? { aaguid: registration.aaguid } : {}),
      user_verified: registration.user_verified,
      policy_revision: policy.revision,
    };
    await tx.record(body);
    const { type: _type, command_id: _none, ...passkey } = body;
    return passkey;
  }, 'PASSKEY_REGISTERED');
}

/** The passkeys registered to one reviewer, oldest registration first. */
export async function passkeysOf(reader: AuditReader, reviewer: string): Promise<Passkey[]> {
  return [...(await registeredPasskeys(reader)).values()].filter((p) => p.reviewer === reviewer);
}
