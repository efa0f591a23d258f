/**
 * Policy definitions as they are written in YAML (after schema validation). Rules describe
 * *what* to match; `match.ts` compiles them into evaluators once.
 */
import type { Category } from '../model/signals.js';
import type { Level } from '../model/verdict.js';
import type { IssueCode, RedirectOp, Via, FlowKind } from '../shell/ir.js';

export type OneOrMany<T> = T | T[];

/** A predicate on one decoded word. Several keys: all must hold. */
export interface WordPredicate {
  equals?: OneOrMany<string>;
  prefix?: OneOrMany<string>;
  suffix?: OneOrMany<string>;
  contains?: OneOrMany<string>;
  regex?: string;
  /** Path globs, matched against the normalized path (see paths.ts). */
  path?: OneOrMany<string>;
  /** `user@host:path` or `host:path` (scp/rsync remote), or a URL with a host. */
  remote?: boolean;
  url?: boolean;
  /** A URL or host[:port] on this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0). */
  loopback?: boolean;
  /** Inside the gate's own store, policy or key directories (or any `.policy-gate` directory). */
  protected?: boolean;
  /** A path outside the project (see projectRoot); a run-time word matches neither way. */
  outside_project?: boolean;
  dynamic?: boolean;
  glob?: boolean;
  /** A named word predicate from the sets file. */
  ref?: string;
  any?: WordPredicate[];
  not?: WordPredicate;
}

export type WordMatch = string | WordPredicate;

export interface ArgsPredicate {
  any?: WordMatch;
  all?: WordMatch;
  none?: WordMatch;
  /** The first positional arguments (words not starting with `-`), in order. */
  positional?: OneOrMany<WordMatch>;
  count?: { min?: number; max?: number };
}

export interface PayloadPredicate {
  language?: OneOrMany<string>;
  capabilities?: OneOrMany<string>;
  capabilities_all?: string[];
  regex?: string;
  dynamic?: boolean;
}

export interface RedirectPredicate {
  op?: OneOrMany<RedirectOp>;
  fd?: OneOrMany<number>;
  target?: WordMatch;
  /** The here-document or here-string text. */
  text?: WordMatch;
}

export interface AssignmentPredicate {
  name?: OneOrMany<string>;
  value?: WordMatch;
  exported?: boolean;
}

/** A predicate on one segment. Several keys: all must hold. */
export interface SegmentPredicate {
  program?: OneOrMany<string>;
  /** argv[0] as written when it has a slash. */
  command_path?: WordMatch;
  /** Flags present (any of them); short flags match inside bundles (`-rf` has `-r`). */
  flags?: OneOrMany<string>;
  flags_all?: string[];
  no_flags?: OneOrMany<string>;
  /** Subcommand words in order (`"delete namespace|ns"`), up to two option values before; a list gives alternatives. */
  subcommand?: OneOrMany<string>;
  args?: ArgsPredicate | WordMatch;
  /** Regular expression over the decoded arguments joined by single spaces. */
  argv_regex?: string;
  wrapper?: OneOrMany<string>;
  /** Regular expression over a wrapper's own words (`systemd-run --on-calendar …`). */
  wrapper_argv_regex?: string;
  privileged?: boolean;
  via?: OneOrMany<Via>;
  nested?: boolean;
  remote?: boolean;
  background?: boolean;
  /** Every URL or host the segment names is this machine, and it names one. */
  local_only?: boolean;
  /**
   * The segment gives one of the tool options registered in shell/options.ts of these kinds
   * a value outside the project, a command, or a run-time value (`rg --pre=sh`, `eslint -c
   * /tmp/x.js`, `go test -exec /tmp/run`).
   */
  risky_option?: OneOrMany<'exec' | 'code' | 'write' | 'read' | 'network'>;
  /** Standard input comes from a pipe. */
  piped?: boolean;
  dynamic_program?: boolean;
  dynamic_args?: boolean;
  payload?: PayloadPredicate;
  /** The segment writes a file at a matching path (redirects, tee, cp, dd of=, sed -i …). */
  writes?: WordMatch;
  /** An argument or an input redirect matches (the segment reads it). */
  reads?: WordMatch;
  redirect?: RedirectPredicate;
  assignment?: AssignmentPredicate;
  ref?: string;
  any?: SegmentPredicate[];
  all?: SegmentPredicate[];
  not?: SegmentPredicate;
}

export interface FlowPredicate {
  from: SegmentPredicate;
  to: SegmentPredicate;
  kinds?: FlowKind[];
}

/** A match over a whole script. Several keys: all must hold. */
export interface MatchDefinition {
  segment?: SegmentPredicate;
  flow?: FlowPredicate;
  redirect?: RedirectPredicate & { segment?: SegmentPredicate };
  assignment?: AssignmentPredicate;
  issue?: OneOrMany<IssueCode>;
  function?: { recursive?: boolean };
  /** Segments matching each predicate, in this order. */
  sequence?: SegmentPredicate[];
  any?: MatchDefinition[];
  all?: MatchDefinition[];
}

export interface Examples {
  match?: string[];
  no_match?: string[];
}

export interface RuleDefinition {
  id: string;
  category: Category;
  severity?: Level;
  score?: number;
  description: string;
  message?: string;
  waivable?: boolean;
  match: MatchDefinition;
  examples?: Examples;
  references?: string[];
}

export interface SetsDefinition {
  segments?: Record<string, SegmentPredicate>;
  words?: Record<string, WordPredicate>;
}

export interface WhitelistRuleDefinition {
  id: string;
  owner: string;
  reason: string;
  pattern: OneOrMany<string>;
  /** Wrappers allowed around the command (`time`, `nice`). */
  wrappers?: string[];
  /** Environment assignments allowed before the command (`CI=1 npm test`). */
  env?: string[];
  /** Data flows allowed: `in` reads a pipe, `out` writes into a pipe. */
  pipes?: ('in' | 'out')[];
  /** Redirects allowed beyond /dev/null, descriptor copies and reading a file. */
  redirects?: { op: '>' | '>>' | '<' | '2>' | '2>>' | '&>'; target: string }[];
  expires?: string;
  max_risk?: number;
  /** Scope: repositories, working directories, agents and sessions the rule applies to. */
  repos?: string[];
  cwd?: string[];
  agents?: string[];
  sessions?: string[];
  examples?: Examples;
}

export interface GateDefinition {
  levels: { medium: number; high: number; critical: number };
  deny_at: Level;
  whitelist_ceiling: number;
  severity_scores: Record<Level, number>;
  damping: number;
  timeouts: { default: number } & Partial<Record<Level, number>>;
  gitops?: { require_reviewed?: boolean; protected_ref?: string; require_signed?: boolean };
  review?: ReviewDefinition;
  /** Where copies of every signed checkpoint are kept, outside the store (verify reads them back). */
  witnesses?: WitnessDefinition[];
  /** Input limits: a larger command is recorded by size, SHA-256 and prefix, and held. */
  limits?: { max_command_bytes?: number };
  context: {
    off_hours?: { timezone: string; working_days: string[]; start: string; end: string; score: number };
    burst?: { max_commands: number; window_seconds: number; score: number };
    novelty?: { score: number };
  };
}

/** One witness: exactly one of file, command, url, git_ref. */
export type WitnessDefinition = { required?: boolean } & (
  { file: string } | { command: string[]; read?: string[] } | { url: string } | { git_ref: string; repo?: string }
);

export interface ReviewDefinition {
  /** A reviewer needs one of these roles to decide (default: any listed reviewer). */
  roles?: string[];
  /** Distinct reviewers needed to approve at or above each level (default 1). */
  approvals?: Partial<Record<Level, number>>;
  /** Refuse decisions signed from the OS account that submitted the command. */
  separate_accounts?: boolean;
  escalation?: { after_seconds: number; command: string[]; timeout_seconds?: number };
}

/** An entry of reviewers.yaml. */
export interface ReviewerDefinition {
  id: string;
  name: string;
  roles: string[];
  /** `ssh-ed25519 AAAA… [comment]` */
  key: string;
  /** Agent names that act for this reviewer. */
  agents?: string[];
}

export interface PolicyTestCase {
  cmd: string;
  level?: Level;
  min_level?: Level;
  max_level?: Level;
  decision?: 'whitelisted' | 'denied' | 'pending';
  rules?: string[];
  not_rules?: string[];
  now?: string;
}

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
