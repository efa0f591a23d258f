/**
 * The Script IR: every simple command ("segment") bash would execute for a command text, with
 * words decoded to the literals bash would pass, and the data flow between segments. Policies
 * match this, never the raw string.
 *
 * Spans are [start, end) offsets in UTF-16 code units into the top-level source text; nested
 * payloads (bash -c '…', eval, heredocs) map back to the span of the word that carried them.
 */

export type Span = readonly [start: number, end: number];

export interface Word {
  /** Decoded text: quotes and escapes removed; dynamic parts kept as their source (`$HOME`). */
  readonly text: string;
  /** Some part is only known at run time: an expansion, a substitution, arithmetic. */
  readonly dynamic: boolean;
  /** Unquoted glob characters or brace expansion: bash turns it into other words. */
  readonly glob: boolean;
  readonly span: Span;
}

/** How a segment was reached: at the top level or inside what another segment executes. */
export type Via =
  | 'top'
  | 'substitution'
  | 'process-substitution'
  | 'shell-c'
  | 'shell-stdin'
  | 'eval'
  | 'ssh'
  | 'find-exec'
  | 'watch'
  | 'parallel'
  | 'command-string'
  | 'variable'
  | 'interpreter'
  | 'container';

export interface WrapperUse {
  readonly name: string;
  /** The wrapper's own words (its options), decoded. */
  readonly argv: readonly string[];
  readonly span: Span;
}

export interface Assignment {
  readonly name: string;
  readonly value: Word | null;
  readonly span: Span;
  /** The segment the assignment is a prefix of (`FOO=1 cmd`, `env FOO=1 cmd`), else null. */
  readonly segment: number | null;
  /** export/declare -x/env: visible to child processes. */
  readonly exported: boolean;
}

export type RedirectOp = '<' | '>' | '>>' | '>|' | '<>' | '&>' | '&>>' | '>&' | '<&' | '<<' | '<<-' | '<<<';

export interface Redirect {
  readonly op: RedirectOp;
  /** The file descriptor written before the operator (`2>`), if any. */
  readonly fd: number | null;
  /** The file, or the descriptor for `>&N`; null for here-documents. */
  readonly target: Word | null;
  /** The segments the redirect applies to (a redirected loop applies to all of its body). */
  readonly segments: readonly number[];
  readonly span: Span;
  /** For here-documents and here-strings: the text fed to the command. */
  readonly text?: Word;
}

export type FlowKind = 'pipe' | 'substitution' | 'process-substitution' | 'variable' | 'literal';

/** Data produced by `from` is consumed by `to` (stdin, an argument or a file argument). */
export interface Flow {
  readonly from: number;
  readonly to: number;
  readonly kind: FlowKind;
}

export interface Payload {
  /** python, perl, ruby, node, php, lua, awk, … */
  readonly language: string;
  readonly text: string;
  readonly dynamic: boolean;
  /** What a scan of the code found: exec, network, socket, fd-dup, delete, decode, env, shell, … */
  readonly capabilities: readonly string[];
  readonly span: Span;
}

export interface Segment {
  readonly id: number;
  /** argv of the command that finally runs, after wrappers are unwrapped; argv[0] as written. */
  readonly argv: readonly Word[];
  /** basename of argv[0] when static, else null (dynamic command name). */
  readonly program: string | null;
  /** argv[0] as written when it contains a slash (`/bin/rm`). */
  readonly path: string | null;
  readonly wrappers: readonly WrapperUse[];
  readonly assignments: readonly Assignment[];
  readonly redirects: readonly Redirect[];
  readonly span: Span;
  readonly parent: number | null;
  readonly via: Via;
  /** Nesting depth of payloads (0 at the top level). */
  readonly depth: number;
  /** Runs under sudo, doas, su, pkexec … (directly or through its parent). */
  readonly privileged: boolean;
  /** The remote host for commands that ssh runs elsewhere. */
  readonly remote: string | null;
  readonly background: boolean;
  readonly payload: Payload | null;
}

export type IssueCode =
  | 'parse-error'
  | 'missing-token'
  | 'unknown-construct'
  | 'dynamic-command'
  | 'dynamic-payload'
  | 'too-large'
  | 'nul-byte'
  | 'invalid-utf8'
  | 'too-deep'
  | 'function-definition'
  | 'alias-definition'
  | 'hidden-characters'
  | 'evaluated-code'
  | 'expanded-code'
  | 'budget-exceeded'
  | 'empty';

/** A reason the command cannot be understood fully: it is never approved automatically. */
export interface Issue {
  readonly code: IssueCode;
  readonly message: string;
  readonly span: Span;
}

export interface FunctionDefinition {
  readonly name: string;
  readonly span: Span;
  /** The segments of the body. */
  readonly segments: readonly number[];
}

export interface HiddenCharacter {
  readonly index: number;
  readonly codePoint: number;
  readonly kind: 'control' | 'bidi' | 'zero-width' | 'other-invisible';
}

export interface Script {
  readonly source: string;
  readonly segments: readonly Segment[];
  readonly flows: readonly Flow[];
  readonly redirects: readonly Redirect[];
  readonly assignments: readonly Assignment[];
  readonly functions: readonly FunctionDefinition[];
  readonly issues: readonly Issue[];
  readonly hidden: readonly HiddenCharacter[];
}

export const ISSUE_CODES: readonly IssueCode[] = [
  'parse-error',
  'missing-token',
  'unknown-construct',
  'dynamic-command',
  'dynamic-payload',
  'too-large',
  'nul-byte',
  'invalid-utf8',
  'too-deep',
  'function-definition',
  'alias-definition',
  'hidden-characters',
  'evaluated-code',
  'expanded-code',
  'budget-exceeded',
  'empty',
];

export const VIAS: readonly Via[] = [
  'top',
  'substitution',
  'process-substitution',
  'shell-c',
  'shell-stdin',
  'eval',
  'ssh',
  'find-exec',
  'watch',
  'parallel',
  'command-string',
  'variable',
  'interpreter',
  'container',
];
