/** What the review commands and the interactive queue share: who signs. */
import { usageError } from '../engine/index.js';
import { str, type Parsed } from './args.js';
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
