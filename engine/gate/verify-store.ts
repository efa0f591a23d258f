/**
 * Verifying a live store: the whole file read for damage first, then one read snapshot for both
 * passes of verifyTrail (the chain, then what the events say) while agents keep writing; the
 * reviewers and whitelist rules of each recorded revision from the policy (and Git);
 * recordings from the state directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifierKey } from '../audit/checkpoint.js';
import type { AuditStore } from '../audit/store.js';
import { NO_PROOFS, verifyTrail, type CheckName, type VerifyResult, type WitnessReading } from '../audit/verify.js';
import { policyProvider } from './policy-at.js';

/** A verification that failed before any event could be read (a damaged file). */
export function failedResult(check: CheckName, message: string, seq: number | null = null): VerifyResult {
  return {
    ok: false,
    failure: { seq, check, message },
    events: 0,
    commands: 0,
    checkpoints: 0,
    unsigned_tail: 0,
    head: null,
    recordings: 0,
    witnesses: [],
    unended_runs: [],
    proofs: NO_PROOFS,
    warnings: [],
  };
}

export interface VerifyStoreOptions {
  readonly keys: readonly VerifierKey[];
  /** A checkpoint kept elsewhere the trail must still extend. */
  readonly against?: string | undefined;
  /** What each witness holds, read back. */
  readonly witnesses?: readonly WitnessReading[];
  /** Where recordings are (the state directory). */
  readonly stateDir: string;
  /** Progress reporting for a trail of `total` events, if wanted. */
  readonly progress?: ((total: number) => ((done: number, all: number) => void) | undefined) | undefined;
}

/** Verify an open store as it stands, against the policy in `policyDir` (and its Git history). */
export async function verifyStore(
  store: AuditStore,
  policyDir: string,
  options: VerifyStoreOptions,
): Promise<VerifyResult> {
  // the whole file first: a damaged page is named before anything is read for meaning
  const integrity = await store.integrity();
  if (!integrity.ok) {
    if (integrity.unreadableFrom === null) return failedResult('integrity', integrity.detail);
    const read = integrity.unreadableFrom - 1;
    return failedResult(
      'integrity',
      `the store file is damaged (${integrity.detail}): events #1–#${read} can be read, ` +
        `event #${integrity.unreadableFrom} and what follows cannot`,
      integrity.unreadableFrom,
    );
  }
  const revisions = await store.policyRevisions();
  // Git is read before the snapshot, not while it is held
  const provider = await (await policyProvider(policyDir))(revisions);
  return store.snapshot(async (reader) => {
    const total = await reader.eventCount();
    return verifyTrail({
      schema: store.schemaProblems,
      witnesses: options.witnesses,
      events: () => reader.rawEvents(),
      total,
      checkpoints: (await reader.checkpoints()).map((c) => c.note),
      keys: options.keys,
      against: options.against,
      policyAt: provider,
      recording: (path) => {
        try {
          return readFileSync(join(options.stateDir, path));
        } catch {
          return null;
        }
      },
      progress: options.progress?.(total),
    });
  });
}
