/**
 * A loaded policy: its compiled rules, whitelist and gate settings, the revision it was loaded
 * at. load-policy.ts makes one; everything that judges commands reads one.
 */
import type { Category } from '../model/signals.js';
import type { ScriptMatcher } from '../policy/match.js';
import type { GateDefinition, PolicySource, RuleDefinition } from '../policy/types.js';
import type { CompiledWhitelistRule } from '../whitelist/coverage.js';
import type { ProvenanceIndex } from '../whitelist/provenance.js';

export interface CompiledRule {
  readonly id: string;
  readonly category: Category;
  readonly score: number;
  readonly description: string;
  readonly message: string;
  readonly waivable: boolean;
  readonly file: string;
  readonly line: number;
  /** The rule can only match scripts that run one of these programs (null: any script). */
  readonly anchor: ReadonlySet<string> | null;
  /** Compiled on first use when the policy was loaded from a validated cache. */
  readonly matcher: ScriptMatcher;
  readonly definition: RuleDefinition;
}

export interface Policy {
  readonly dir: string;
  /** The Git HEAD commit (`-dirty` when policy files differ from it), else the content hash. */
  readonly revision: string;
  /** sha256 of the policy files' names and contents. */
  readonly contentRevision: string;
  /** Provenance of the whitelist rules, when the policy is versioned in Git. */
  readonly provenance: ProvenanceIndex | null;
  readonly source: PolicySource;
  readonly rules: readonly CompiledRule[];
  readonly whitelist: readonly CompiledWhitelistRule[];
  readonly gate: GateDefinition;
}

/**
 * The policy judged on its contents alone, without review enforcement: what examples, test
 * cases, proposals and diffs need (a rule under review is by definition not merged yet).
 */
export function contentsOnly(policy: Policy): Policy {
  return policy.gate.gitops ? { ...policy, gate: { ...policy.gate, gitops: undefined } } : policy;
}
