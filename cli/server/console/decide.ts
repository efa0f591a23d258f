/**
 * A reviewer's decision from the browser. The server states the decision as canonical JSON
 * (naming the exact submission); the reviewer's passkey signs it, with the statement's SHA-256
 * as the WebAuthn challenge, so the assertion proves this reviewer approved or denied this
 * command and nothing else. A decision on the token alone is offered only where gate.yaml
 * allows it (whoami says token_decisions).
 */
import { startAuthentication } from '@simplewebauthn/browser';
import { post } from './api.js';
import type { DecisionResult, Statement } from './types.js';
import { me } from './ui.js';

/** Why the console will not even try (the reviewer has to do something first). */
export class CannotDecide extends Error {}

export async function decide(
  commandId: string,
  decision: 'approve' | 'deny',
  reason: string | null,
): Promise<DecisionResult> {
  const who = me();
  if (!who.reviewer) throw new CannotDecide(`${who.identity} is not a reviewer: only reviewers decide`);
  const path = `/v1/commands/${encodeURIComponent(commandId)}`;
  if (!who.token_decisions && who.passkeys.length === 0)
    throw new CannotDecide('Decisions must be signed: register a passkey first (Passkeys, key p).');
  const st = await post<Statement>(`${path}/statement`, { decision, reason });
  if (st.webauthn) {
    const assertion = await startAuthentication({ optionsJSON: st.webauthn });
    return post<DecisionResult>(`${path}/decision`, {
      statement: st.statement,
      proof: {
        kind: 'webauthn',
        credential_id: assertion.id,
        authenticator_data: assertion.response.authenticatorData,
        client_data_json: assertion.response.clientDataJSON,
        signature: assertion.response.signature,
      },
    });
  }
  if (who.token_decisions)
    return post<DecisionResult>(`${path}/decision`, { statement: st.statement, proof: { kind: 'token' } });
  throw new CannotDecide('Decisions must be signed: register a passkey first (Passkeys, key p).');
}
