/**
 * What a walk over one command keeps: the segments, flows, assignments and issues found so far,
 * where each piece of parsed text sits in the command (frames), and the bookkeeping every part of
 * the walker shares.
 *
 * The walker is one object, written as a chain of classes, one concern per file, each extending
 * the one before: walk-state.ts → evaluated.ts (text bash evaluates at run time) → words.ts
 * (words, substitutions, redirects) → assignments.ts → segments.ts (simple commands, wrappers)
 * → programs.ts (what programs run in turn) → statements.ts (the statement walker). A concern
 * that needs one further down the chain (a word's substitution is a nested script) calls it
 * through an abstract method, so no file imports one after it.
 */
import type { SyntaxNode } from 'tree-sitter';
import { plainWord, type WordEx } from './decode.js';
import type {
  Assignment,
  Flow,
  FlowKind,
  FunctionDefinition,
  Issue,
  IssueCode,
  Payload,
  Redirect,
  Script,
  Segment,
  Span,
  Via,
  WrapperUse,
} from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import type { Heredoc } from './reader.js';
import { basename, type findHiddenCharacters } from './text.js';

export interface Frame {
  /**
   * Local offset (in the text tree-sitter parsed) → top-level offset:
   * `offset + (table ? table[local] : local)`, unless `fixed` gives one span for everything.
   */
  readonly offset: number;
  readonly table: Int32Array | null;
  /** Cumulative count of non-verbatim steps of `table` (see ReadText.breaks). */
  readonly breaks: Int32Array | null;
  readonly fixed: Span | null;
  /** The here-documents of this text as bash reads them, by the offset of their delimiter. */
  readonly heredocs: ReadonlyMap<number, Heredoc>;
  /** The text tree-sitter parsed (offsets of nodes are into it). */
  readonly text: string;
  readonly via: Via;
  readonly parent: number | null;
  readonly depth: number;
  readonly privileged: boolean;
  readonly remote: string | null;
}

export interface SegmentDraft {
  id: number;
  argv: WordEx[];
  program: string | null;
  path: string | null;
  wrappers: WrapperUse[];
  assignments: Assignment[];
  redirects: Redirect[];
  span: Span;
  parent: number | null;
  via: Via;
  depth: number;
  privileged: boolean;
  remote: string | null;
  background: boolean;
  payload: Payload | null;
  /** Reads a script (shell) or program (interpreter) from standard input. */
  stdin: { kind: 'shell' } | { kind: 'interpreter'; language: string } | null;
}

/** A substitution to run once its owner exists: a tree-sitter node, or command text found otherwise. */
export type PendingSubstitution =
  { node: SyntaxNode; frame: Frame } | { text: string; span: Span; frame: Frame; evaluated?: string };

export const LINEAR = {
  offset: 0,
  table: null,
  breaks: null,
  fixed: null,
  heredocs: new Map<number, Heredoc>(),
  text: '',
} as const;

export abstract class WalkState {
  protected readonly segments: SegmentDraft[] = [];
  protected readonly flows: Flow[] = [];
  protected readonly flowKeys = new Set<string>();
  protected readonly redirects: Redirect[] = [];
  protected readonly assignments: Assignment[] = [];
  protected readonly functions: FunctionDefinition[] = [];
  protected readonly issues: Issue[] = [];
  protected readonly issueKeys = new Set<string>();
  /** Variable name → segments whose output it may hold (`x=$(curl …)`). */
  protected readonly variables = new Map<string, number[]>();
  /** Variable name → its last static value, as far as the text shows (for `${x@P}`). */
  protected readonly values = new Map<string, string>();
  /**
   * Attributes a declaration gave a name (`declare -i n`, `local -u s`): with `i` every value
   * assigned is evaluated as arithmetic (running `a[$(cmd)]`), with `u`, `l` or `c` its case changes.
   */
  protected readonly attributes = new Map<string, Set<string>>();
  /** The frame each segment was built in (for what is found in its words later). */
  protected readonly frames = new Map<number, Frame>();
  /**
   * Nodes tree-sitter left after an assignment or a redirect that are the rest of its word, by
   * node id; taken once, right after they are found (ids are only unique within one tree).
   */
  protected readonly tails = new Map<number, SyntaxNode[]>();
  /** The text a here-document or here-string feeds, by its redirect. */
  protected readonly redirectTexts = new Map<Redirect, WordEx>();

  protected takeTails(node: SyntaxNode): SyntaxNode[] {
    const tail = this.tails.get(node.id) ?? [];
    this.tails.delete(node.id);
    return tail;
  }

  /** Levels of nesting being read (see nested()). */
  protected depth = 0;
  /** Syntax nested past PARSE_LIMITS.maxSyntaxDepth was found (and reported once). */
  protected overDepth = false;
  protected deadline = Infinity;
  /** More segments than PARSE_LIMITS.maxSegments were found: the rest is not read. */
  protected overSegments = false;
  protected overBudget = false;
  /** ERROR nodes the walker understood (tree-sitter-bash misparses `3<>file`). */
  protected readonly tolerated = new Set<number>();

  constructor(protected readonly source: string) {}

  /** Parses text as a nested script (statements.ts). */
  protected abstract parseText(text: string, frame: Frame): number[];

  /** Runs the statements and expressions inside a node (statements.ts). */
  protected abstract compound(node: SyntaxNode, frame: Frame): number[];

  protected span(frame: Frame, start: number, end: number): Span {
    if (frame.fixed) return frame.fixed;
    return [this.at(frame, start), this.at(frame, end)];
  }

  protected at(frame: Frame, local: number): number {
    return frame.offset + (frame.table ? frame.table[Math.min(local, frame.table.length - 1)]! : local);
  }

  /** The top-level offset where [local, local + length) is a verbatim copy of the input, or null. */
  protected verbatimAt(frame: Frame, local: number, length: number): number | null {
    if (frame.fixed) return null;
    if (frame.breaks && frame.breaks[Math.min(local + length, frame.breaks.length - 1)]! - frame.breaks[local]! !== 0)
      return null;
    return this.at(frame, local);
  }

  /** A top-level offset back to the local text (the first local offset at or after it). */
  protected toLocal(frame: Frame, top: number): number {
    const target = top - frame.offset;
    if (!frame.table) return target;
    let lo = 0;
    let hi = frame.table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (frame.table[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  protected nodeSpan(frame: Frame, node: SyntaxNode): Span {
    return this.span(frame, node.startIndex, node.endIndex);
  }

  protected issue(code: IssueCode, message: string, span: Span): void {
    const key = `${code}:${span[0]}:${span[1]}:${message}`;
    if (this.issueKeys.has(key)) return;
    this.issueKeys.add(key);
    this.issues.push({ code, message, span });
  }

  /**
   * Reads one level of nesting deeper: a statement, an expression, a substitution's output. The
   * walk recurses once per level and a text within the size limit may nest thousands of levels
   * deep, so past PARSE_LIMITS.maxSyntaxDepth it reads nothing there (`none`) and reports it.
   */
  protected nested<T>(frame: Frame, node: SyntaxNode, none: T, read: () => T): T {
    if (this.depth >= PARSE_LIMITS.maxSyntaxDepth) {
      this.tooDeep(this.nodeSpan(frame, node));
      return none;
    }
    this.depth++;
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  /** Syntax nested deeper than the walk reads: said once, where it was first found. */
  protected tooDeep(span: Span): void {
    if (this.overDepth) return;
    this.overDepth = true;
    this.issue('too-deep', `syntax nested more than ${PARSE_LIMITS.maxSyntaxDepth} levels deep was not read`, span);
  }

  protected flow(from: number, to: number, kind: FlowKind): void {
    if (from === to) return;
    const key = `${from}>${to}:${kind}`;
    if (this.flowKeys.has(key)) return;
    this.flowKeys.add(key);
    this.flows.push({ from, to, kind });
  }

  protected child(frame: Frame, via: Via, parent: number | null, extra: Partial<Frame> = {}): Frame {
    return { ...frame, via, parent, ...extra };
  }

  /** A frame for parsing the text of `word` as a nested script. */
  protected payloadFrame(frame: Frame, word: WordEx, via: Via, parent: number, extra: Partial<Frame> = {}): Frame {
    const base = word.exact;
    return {
      ...LINEAR,
      offset: base ?? 0,
      fixed: base === null ? word.span : null,
      via,
      parent,
      depth: frame.depth + 1,
      privileged: frame.privileged,
      remote: frame.remote,
      ...extra,
    };
  }

  protected textFrame(frame: Frame, span: Span, via: Via, parent: number, extra: Partial<Frame> = {}): Frame {
    return {
      ...LINEAR,
      fixed: span,
      via,
      parent,
      depth: frame.depth + 1,
      privileged: frame.privileged,
      remote: frame.remote,
      ...extra,
    };
  }

  protected newSegment(
    argv: WordEx[],
    frame: Frame,
    span: Span,
    wrappers: WrapperUse[],
    redirects: Redirect[],
    program: string | null,
    privileged = frame.privileged,
  ): number {
    const head = argv[0];
    const id = this.segments.length;
    this.frames.set(id, frame);
    const name = program ?? (head && (!head.dynamic || head.tilde) && !head.glob ? basename(head.text) : null);
    this.segments.push({
      id,
      argv,
      program: name,
      path: head && name !== null && head.text.includes('/') ? head.text : null,
      wrappers,
      assignments: [],
      redirects: [...redirects],
      span,
      parent: frame.parent,
      via: frame.via,
      depth: frame.depth,
      privileged,
      remote: frame.remote,
      background: false,
      payload: null,
      stdin: null,
    });
    return id;
  }

  protected attachRedirect(redirect: Redirect, ids: readonly number[]): void {
    this.redirects.push(redirect);
    for (const id of ids) this.segments[id]!.redirects.push(redirect);
  }

  protected finish(hidden: ReturnType<typeof findHiddenCharacters>): Script {
    const segments: Segment[] = this.segments.map((s) => ({
      id: s.id,
      argv: s.argv.map(plainWord),
      program: s.program,
      path: s.path,
      wrappers: s.wrappers,
      assignments: s.assignments,
      redirects: s.redirects,
      span: s.span,
      parent: s.parent,
      via: s.via,
      depth: s.depth,
      privileged: s.privileged,
      remote: s.remote,
      background: s.background,
      payload: s.payload,
    }));
    return {
      source: this.source,
      segments,
      flows: this.flows,
      redirects: [...new Set(this.redirects)],
      assignments: this.assignments,
      functions: this.functions,
      issues: this.issues,
      hidden,
    };
  }
}
