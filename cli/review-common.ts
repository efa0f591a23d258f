/** What the review commands and the interactive queue share: who signs, and the store they work on. */
import { requireStore, usageError, type AuditStore, type Policy } from '../engine/index.js';
import { str, type Parsed } from './args.js';
import { locations, openStore, policyFor } from './context.js';
import type { CliIo } from './io.js';

/** The reviewer and key from flags or the environment. */
export function signer(p: Parsed, io: CliIo): { reviewer: string; key: string | undefined } {
  const reviewer = str(p, 'reviewer') ?? io.env.POLICY_GATE_REVIEWER;
  if (!reviewer)
    throw usageError(
      'who decides? pass --reviewer ID (your id in reviewers.yaml) or set POLICY_GATE_REVIEWER',
      'see: policy-gate review --help',
    );
  return { reviewer, key: str(p, 'key') ?? io.env.POLICY_GATE_KEY };
}

/**
 * The store a reviewer works on, and the policy that judges decisions. Review only works on a
 * trail that exists: a missing store is an error naming where it was looked for, raised before
 * the policy is loaded (its cache lives next to the store), so nothing is created.
 */
export async function openForReview(p: Parsed, io: CliIo): Promise<{ policy: Policy; store: AuditStore }> {
  const loc = locations(p, io);
  requireStore(loc);
  const policy = await policyFor(loc);
  const warn = (message: string): void => io.stderr.write(`policy-gate: ${message}\n`);
  return { policy, store: await openStore(loc, { policy, warn, create: false }) };
}
