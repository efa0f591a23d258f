/**
 * Policy definitions as they are written in YAML (after schema validation). Rules describe
 * *what* to match; `match.ts` compiles them into evaluators once.
 *
 * The definitions are generated from the JSON Schemas in policies/schema/ (generated/types.ts),
 * so a policy option is written once. To add one: add the property to its schema, with a
 * `description` (it becomes the doc comment), run `npm run gen`, then teach the engine to use it.
 * This file keeps what no schema describes: the loaded policy's shape and its source locations,
 * and the checks that the schema's enums are the engine's own lists.
 */
import type { Category } from '../model/signals.js';
import type { Level, WouldDecide } from '../model/verdict.js';
import type { FlowKind, IssueCode, RedirectOp, Via } from '../shell/ir.js';
import type { OptionKind } from '../shell/options.js';
import type * as Schema from './generated/types.js';
import type {
  GateDefinition,
  PolicyTestCase,
  ReviewerDefinition,
  RuleDefinition,
  SetsDefinition,
  WhitelistRuleDefinition,
} from './generated/types.js';

export type {
  ArgsPredicate,
  AssignmentPredicate,
  Examples,
  FlowPredicate,
  GateDefinition,
  MatchDefinition,
  MatchRedirectPredicate,
  OneOrMany,
  PayloadPredicate,
  PolicyTestCase,
  RedirectPredicate,
  ReviewDefinition,
  ReviewerDefinition,
  RuleDefinition,
  SegmentPredicate,
  SetsDefinition,
  WhitelistRuleDefinition,
  WitnessDefinition,
  WordMatch,
  WordPredicate,
} from './generated/types.js';

/** Everything a policy directory defines, validated and normalized (cacheable JSON). */
export interface PolicySource {
  rules: (RuleDefinition & { file: string; line: number })[];
  sets: SetsDefinition;
  whitelist: (WhitelistRuleDefinition & { file: string; line: number; line_end?: number })[];
  gate: GateDefinition;
  /** reviewers.yaml (empty when the policy has none: nobody can approve). */
  reviewers: (ReviewerDefinition & { file: string; line: number })[];
  revision: string;
  files: string[];
}

/** `true` when A and B are the same set of values, else `false`. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only for `true`: `Expect<Same<A, B>>` fails the build when A and B differ. */
export type Expect<T extends true> = T;

/**
 * The schema's enums are the engine's lists: a value added on one side only fails the build
 * (policies/schema/*.json on one side; engine/model, engine/shell on the other).
 */
export type SchemaEnumsMatchTheEngine = [
  Expect<Same<Schema.Level, Level>>,
  Expect<Same<Schema.Category, Category>>,
  Expect<Same<Schema.IssueCode, IssueCode>>,
  Expect<Same<Schema.Via, Via>>,
  Expect<Same<Schema.RedirectOp, RedirectOp>>,
  Expect<Same<Schema.FlowKind, FlowKind>>,
  Expect<Same<Schema.OptionKind, OptionKind>>,
  Expect<Same<NonNullable<PolicyTestCase['decision']>, WouldDecide>>,
  // gate.yaml names the levels as keys: every level, and no other
  Expect<Same<keyof GateDefinition['severity_scores'], Level>>,
  Expect<Same<Exclude<keyof GateDefinition['timeouts'], 'default'>, Level>>,
  Expect<Same<keyof NonNullable<Schema.ReviewDefinition['approvals']>, Level>>,
  Expect<GateDefinition['deny_at'] extends Level ? true : false>,
];
