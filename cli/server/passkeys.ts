/**
 * Passkeys for reviewers (WebAuthn). A reviewer listed in reviewers.yaml registers one from the
 * console with their reviewer token; @simplewebauthn/server checks the registration ceremony
 * (challenge, origin, relying party, user verification), and the gate records the credential
 * in the audit trail, where `verify` later finds the public key to re-check every decision
 * signed with it. Registration challenges live in memory for five minutes, one per identity.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { parseCoseKey } from '../../engine/index.js';
import { ApiError, requireRole, type AppOptions } from './http.js';

const CHALLENGE_MS = 5 * 60_000;
/** ES256, EdDSA, RS256: what the gate's offline verifier checks. */
const ALGORITHMS = [-7, -8, -257];

/** The options a browser's navigator.credentials.get() needs to sign `challenge` with one of these passkeys. */
export function assertionOptions(
  rpId: string,
  challenge: string,
  passkeys: readonly { credential_id: string; transports?: readonly string[] | undefined }[],
): Record<string, unknown> | null {
  if (passkeys.length === 0) return null;
  return {
    challenge,
    rpId,
    timeout: 120_000,
    userVerification: 'required',
    allowCredentials: passkeys.map((k) => ({
      id: k.credential_id,
      type: 'public-key',
      ...(k.transports && k.transports.length > 0 ? { transports: k.transports } : {}),
    })),
  };
}

export function passkeyRoutes(app: FastifyInstance, options: AppOptions): void {
  const { gate, rp } = options;
  const pending = new Map<string, { challenge: string; until: number }>();

  const reviewerOf = (identity: string): { id: string; name: string } => {
    const reviewer = gate.policy.source.reviewers.find((r) => r.id === identity);
    if (!reviewer)
      throw new ApiError(403, 'unknown-reviewer', `${identity} is not a reviewer in reviewers.yaml: no passkey for it`);
    return reviewer;
  };

  app.get(
    '/v1/passkeys',
    { schema: { summary: "The token's reviewer's registered passkeys", tags: ['passkeys'] } },
    async (request) => {
      const p = requireRole(request, 'reviewer');
      return { items: await gate.review.passkeys(p.identity) };
    },
  );

  app.post(
    '/v1/passkeys/registration/options',
    {
      schema: {
        summary: 'Start registering a passkey: the options for navigator.credentials.create()',
        tags: ['passkeys'],
      },
    },
    async (request) => {
      const p = requireRole(request, 'reviewer');
      const reviewer = reviewerOf(p.identity);
      const existing = await gate.review.passkeys(reviewer.id);
      const optionsJSON = await generateRegistrationOptions({
        rpName: 'policy-gate',
        rpID: rp.id,
        userName: reviewer.id,
        userDisplayName: reviewer.name,
        userID: new Uint8Array(Buffer.from(reviewer.id, 'utf8')),
        challenge: new Uint8Array(randomBytes(32)),
        attestationType: 'none',
        supportedAlgorithmIDs: ALGORITHMS,
        excludeCredentials: existing.map((k) => ({ id: k.credential_id })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      });
      for (const [id, c] of pending) if (c.until < Date.now()) pending.delete(id);
      pending.set(p.identity, { challenge: optionsJSON.challenge, until: Date.now() + CHALLENGE_MS });
      return optionsJSON;
    },
  );

  app.post<{ Body: { response: RegistrationResponseJSON } }>(
    '/v1/passkeys/registration',
    {
      schema: {
        summary: "Finish registering a passkey: the browser's response; the credential is recorded in the trail",
        tags: ['passkeys'],
        body: {
          type: 'object',
          required: ['response'],
          additionalProperties: false,
          properties: { response: { type: 'object' } },
        },
      },
    },
    async (request) => {
      const p = requireRole(request, 'reviewer');
      const reviewer = reviewerOf(p.identity);
      const started = pending.get(p.identity);
      pending.delete(p.identity);
      if (!started || started.until < Date.now())
        throw new ApiError(400, 'bad-request', 'no registration in progress (or it expired): ask for options again');
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: request.body.response,
          expectedChallenge: started.challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: true,
          supportedAlgorithmIDs: ALGORITHMS,
        });
      } catch (err) {
        throw new ApiError(
          400,
          'bad-registration',
          `the passkey registration does not verify: ${(err as Error).message}`,
        );
      }
      if (!verified.verified || !verified.registrationInfo)
        throw new ApiError(400, 'bad-registration', 'the passkey registration does not verify');
      const info = verified.registrationInfo;
      const alg = coseAlgorithm(info.credential.publicKey);
      const passkey = await gate.review.registerPasskey({
        reviewer: reviewer.id,
        credential_id: info.credential.id,
        public_key: info.credential.publicKey,
        alg,
        rp_id: rp.id,
        origin: rp.origin,
        registered_by: { identity: p.identity, via: p.token_id ? `token ${p.token_id}` : 'socket' },
        ...(info.credential.transports ? { transports: info.credential.transports } : {}),
        aaguid: info.aaguid,
        user_verified: info.userVerified,
      });
      options.hub.poke();
      return passkey;
    },
  );
}

/** The COSE algorithm of a credential's public key (the gate verifies ES256, EdDSA and RS256). */
function coseAlgorithm(cose: Uint8Array): number {
  try {
    return parseCoseKey(Buffer.from(cose)).algId;
  } catch (err) {
    throw new ApiError(400, 'bad-registration', `the passkey's public key is not usable: ${(err as Error).message}`);
  }
}
