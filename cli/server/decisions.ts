/**
 * Reviewers' decisions through the API. The reviewer asks for the canonical statement of a
 * decision (the same bytes the CLI signs), signs it — with a passkey, whose challenge is the
 * statement's SHA-256, or with an SSH key — and submits statement and proof. The engine judges
 * it exactly as it judges a CLI decision: reviewers.yaml, self-approval, N-of-M, the deadline.
 * A decision on a token alone is possible only where gate.yaml allows it, and says so in the
 * trail.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ReviewOutcome } from '../../engine/index.js';
import { ApiError, commandAnswer, requireRole, statementChallenge, type AppOptions } from './http.js';

/** Refusals a reviewer can fix by asking differently (400), and those about the command's state (409). */
const REFUSAL_STATUS: Partial<Record<string, number>> = {
  malformed: 400,
  'wrong-command': 400,
  'already-decided': 409,
  expired: 409,
};

type Proof =
  | { kind: 'ssh'; signature: string }
  | { kind: 'token' }
  | {
      kind: 'webauthn';
      credential_id: string;
      authenticator_data: string;
      client_data_json: string;
      signature: string;
    };

const b64u = { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 16384 } as const;

export function decisionRoutes(
  app: FastifyInstance,
  options: AppOptions,
  shared: { errors: Record<number, unknown>; idParams: object },
): void {
  const { gate, hub } = options;

  app.post<{ Params: { id: string }; Body: { decision: 'approve' | 'deny'; reason?: string | null } }>(
    '/v1/commands/:id/statement',
    {
      schema: {
        summary: 'The canonical statement a reviewer signs to decide a command, and its WebAuthn challenge',
        tags: ['reviewers'],
        params: shared.idParams,
        body: {
          type: 'object',
          required: ['decision'],
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: ['approve', 'deny'] },
            reason: { type: ['string', 'null'], maxLength: 4096 },
          },
        },
      },
    },
    async (request) => {
      const p = requireRole(request, 'reviewer');
      const statement = await gate.review.statement({
        command_id: request.params.id,
        decision: request.body.decision,
        reason: request.body.reason?.trim() || null,
        reviewer: p.identity,
        signed_at: new Date().toISOString(),
      });
      return { statement, challenge: statementChallenge(statement), webauthn: null };
    },
  );

  app.post<{ Params: { id: string }; Body: { statement: string; proof: Proof } }>(
    '/v1/commands/:id/decision',
    {
      schema: {
        summary: 'Submit a signed decision (approve or deny); refusals are recorded and answered 4xx',
        tags: ['reviewers'],
        params: shared.idParams,
        body: {
          type: 'object',
          required: ['statement', 'proof'],
          additionalProperties: false,
          properties: {
            statement: { type: 'string', minLength: 2, maxLength: 16384 },
            proof: {
              oneOf: [
                {
                  type: 'object',
                  required: ['kind', 'signature'],
                  additionalProperties: false,
                  properties: { kind: { const: 'ssh' }, signature: { type: 'string', maxLength: 16384 } },
                },
                {
                  type: 'object',
                  required: ['kind'],
                  additionalProperties: false,
                  properties: { kind: { const: 'token' } },
                },
                {
                  type: 'object',
                  required: ['kind', 'credential_id', 'authenticator_data', 'client_data_json', 'signature'],
                  additionalProperties: false,
                  properties: {
                    kind: { const: 'webauthn' },
                    credential_id: b64u,
                    authenticator_data: b64u,
                    client_data_json: b64u,
                    signature: b64u,
                  },
                },
              ],
            },
          },
        },
      },
    },
    async (request, reply) => {
      const p = requireRole(request, 'reviewer');
      const { statement, proof } = request.body;
      let claimed: unknown;
      try {
        claimed = (JSON.parse(statement) as { reviewer?: unknown }).reviewer;
      } catch {
        claimed = undefined;
      }
      // a token decides only for its own identity, whatever the statement claims
      if (claimed !== p.identity)
        throw new ApiError(
          403,
          'forbidden',
          `the statement names reviewer ${JSON.stringify(claimed)}, not ${p.identity}`,
        );
      const outcome: ReviewOutcome = await gate.review.apply({
        command_id: request.params.id,
        statement,
        signature: proof.kind === 'ssh' ? proof.signature : null,
        from: { user: p.identity, host: `policy-gate-serve@${hostname()}` },
      });
      hub.poke();
      if (outcome.kind === 'refused')
        throw new ApiError(REFUSAL_STATUS[outcome.code] ?? 403, outcome.code, outcome.message, {
          record: outcome.record,
        });
      return reply.send({
        kind: outcome.kind,
        ...commandAnswer(outcome.record),
        ...(outcome.kind === 'counted' ? { approvals: outcome.approvals, needed: outcome.needed } : {}),
      });
    },
  );
}
