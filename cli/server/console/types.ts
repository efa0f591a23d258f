/** What the API sends the console (docs: /work/notes/issue13-api.md): the model's records, and views of them. */
import type { CommandRecord, SignedDecision } from '../../../engine/model/events.js';
import type { Signal } from '../../../engine/model/signals.js';
import type { SegmentReport } from '../../../engine/model/segments.js';
import type { CommandState, Level } from '../../../engine/model/verdict.js';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';

export type { CommandRecord, CommandState, Level, SegmentReport, Signal, SignedDecision };

export interface Whoami {
  readonly identity: string;
  readonly role: 'agent' | 'reviewer' | 'auditor' | 'admin';
  readonly token_id: string | null;
  readonly reviewer: { readonly id: string; readonly name: string } | null;
  readonly passkeys: readonly Passkey[];
  readonly token_decisions: boolean;
  readonly rp: { readonly id: string; readonly origin: string };
}

export interface Passkey {
  readonly credential_id: string;
  readonly registered_at: string;
}

/** The engine's ReviewView: a pending command with what a reviewer needs to decide it. */
export interface ReviewView {
  readonly record: CommandRecord;
  /** The session's earlier commands (newest last). */
  readonly session: readonly CommandRecord[];
  readonly approvals: readonly string[];
  readonly approvals_needed: number;
  /** Milliseconds before it times out (negative: past its deadline); null when not waiting. */
  readonly time_left_ms: number | null;
}

export interface CommandPage {
  readonly items: readonly CommandRecord[];
  readonly next: string | null;
}

export interface Statement {
  readonly statement: string;
  readonly challenge: string;
  readonly webauthn: PublicKeyCredentialRequestOptionsJSON | null;
}

export interface DecisionResult {
  readonly kind: 'decided' | 'counted';
  readonly record: CommandRecord;
  readonly approvals?: number;
  readonly needed?: number;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly failure: { readonly seq: number | null; readonly check: string; readonly message: string } | null;
  readonly events: number;
  readonly commands: number;
  readonly checkpoints: number;
  readonly unsigned_tail: number;
  readonly warnings: readonly string[];
}

export interface StatsBucket {
  readonly start: string;
  readonly allowed?: number;
  readonly approved: number;
  readonly denied: number;
  readonly timed_out: number;
  readonly whitelisted: number;
  readonly pending: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p95_ms: number | null;
}

/** A server-sent event of /v1/events. */
export interface GateEvent {
  readonly type: string;
  readonly data: { readonly command_id?: string; readonly record?: CommandRecord };
}
