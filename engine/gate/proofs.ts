/**
 * What proves that a reviewer made a decision. Three kinds, all over the same canonical
 * statement:
 *
 *   ssh       an SSHSIG by the reviewer's key in reviewers.yaml (the CLI);
 *   webauthn  an assertion by a passkey registered to the reviewer in the trail, whose
 *             challenge is SHA-256 of the statement (the web console);
 *   token     nothing but the server's word that the reviewer's API token was used — only where
 *             gate.yaml review.token_decisions allows it, and recorded as such.
 *
 * Pure: the registered passkeys and the policy's setting are passed in.
 */
import type { DecisionStatement, Passkey, RefusalCode, SignedDecision, SubmittedProof } from '../model/events.js';
import { parseSignature, verifySignature } from '../util/sshsig.js';
import { verifyStatementAssertion } from '../util/webauthn.js';
import type { Reviewer } from './reviewers.js';

export interface DecisionSubmission {
  /** The command the decision is for (as the reviewer asked for it). */
  readonly command_id: string;
  /** Canonical JSON of a DecisionStatement. */
  readonly statement: string;
  /** Armored SSHSIG over `statement`; null when unsigned, or proven otherwise (`proof`). */
  readonly signature: string | null;
  /** A passkey assertion over the statement's hash, or the API token the server authenticated. */
  readonly proof?: SubmittedProof | undefined;
  /** The OS account it was submitted from (context only, or for separate_accounts). */
  readonly from: { readonly user: string; readonly host: string };
}

export type ProofCheck =
  | { readonly ok: true; readonly signed: SignedDecision }
  | { readonly ok: false; readonly code: RefusalCode; readonly message: string };

/**
 * Is the decision proven at all, before anyone's key is looked at? Refuses what carries no
 * proof, a token where tokens may not decide, and two proofs at once.
 */
export function proofPresent(
  sub: DecisionSubmission,
  tokenDecisions: boolean,
): { readonly code: RefusalCode; readonly message: string } | null {
  const refuse = (code: RefusalCode, message: string) => ({ code, message });
  const ssh = sub.signature !== null && sub.signature.trim() !== '';
  if (ssh && sub.proof) return refuse('malformed', 'the decision carries both an SSH signature and another proof');
  if (sub.proof?.kind === 'token' && !tokenDecisions)
    return refuse(
      'unsigned',
      'the decision is not signed (an API token only): decisions must be signed with a reviewer key or passkey ' +
        'unless gate.yaml review.token_decisions allows tokens',
    );
  if (!ssh && !sub.proof)
    return refuse('unsigned', 'the decision is not signed: decisions must be signed with a reviewer key');
  return null;
}

/** Whose SSH key made this signature, for a refusal naming an unknown reviewer ('' when unreadable). */
export function sshSigner(sub: DecisionSubmission, reviewers: ReadonlyMap<string, Reviewer>): string {
  if (!sub.signature) return '';
  try {
    const fp = parseSignature(sub.signature).key.fingerprint;
    const owner = [...reviewers.values()].find((r) => r.key.fingerprint === fp);
    return owner ? ` (the key is ${owner.id}'s)` : ` (key ${fp} is not listed either)`;
  } catch {
    return '';
  }
}

/** Check the decision's proof for `reviewer` (statement.reviewer, listed in reviewers.yaml). */
export function checkProof(
  sub: DecisionSubmission,
  statement: DecisionStatement,
  reviewer: Reviewer,
  passkeys: ReadonlyMap<string, Passkey>,
): ProofCheck {
  const refuse = (code: RefusalCode, message: string): ProofCheck => ({ ok: false, code, message });
  const base = { reviewer: reviewer.id, statement: sub.statement, submitted_from: sub.from };
  const proof = sub.proof;
  if (!proof) {
    const verified = verifySignature(Buffer.from(sub.statement, 'utf8'), sub.signature!, reviewer.key);
    if (!verified.ok)
      return refuse(
        verified.why === 'wrong-key' ? 'wrong-key' : verified.why === 'malformed' ? 'malformed' : 'bad-signature',
        verified.message,
      );
    const signed = { ...base, proof: 'ssh', key_fingerprint: reviewer.key.fingerprint };
    return { ok: true, signed: { ...signed, signature: sub.signature!.trim() + '\n' } as SignedDecision };
  }
  if (proof.kind === 'token') {
    if (typeof proof.token_id !== 'string' || proof.token_id === '')
      return refuse('malformed', 'the token decision names no token');
    if (proof.reviewer !== reviewer.id)
      return refuse('wrong-key', `the token is ${proof.reviewer}'s, but the statement is ${reviewer.id}'s`);
    return { ok: true, signed: { ...base, proof: 'token', token_id: proof.token_id } };
  }
  const fields = [proof.credential_id, proof.authenticator_data, proof.client_data_json, proof.signature];
  if (!fields.every((f) => typeof f === 'string' && /^[A-Za-z0-9_-]+$/.test(f)))
    return refuse(
      'malformed',
      'the passkey assertion must give credential_id, authenticator_data, client_data_json and signature in base64url',
    );
  const passkey = passkeys.get(proof.credential_id);
  if (!passkey) return refuse('unknown-credential', `no passkey ${proof.credential_id} is registered`);
  if (passkey.reviewer !== reviewer.id)
    return refuse(
      'wrong-key',
      `the passkey ${proof.credential_id} is registered to ${passkey.reviewer}, not ${reviewer.id}`,
    );
  const checked = verifyStatementAssertion(sub.statement, passkey, proof);
  if (!checked.ok) return refuse('bad-signature', `the passkey assertion does not verify: ${checked.reason}`);
  return {
    ok: true,
    signed: {
      ...base,
      proof: 'webauthn',
      credential_id: proof.credential_id,
      authenticator_data: proof.authenticator_data,
      client_data_json: proof.client_data_json,
      signature: proof.signature,
    },
  };
}
