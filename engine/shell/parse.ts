/**
 * tree-sitter-bash → Script IR. The walker visits an allowlist of node kinds; anything else
 * becomes an issue (the command is then never approved automatically) while its children are
 * still searched for commands, so detection does not stop at a construct it does not know.
 */
import type { SyntaxNode, Tree } from 'tree-sitter';
import { TooDeep, TooManyWords, braceExpand } from './braces.js';
import {
  atomsText,
  decodeHeredocBody,
  decodeNode,
  embeddedCommands,
  hasGlob,
  hasUnparsedExpansion,
  hasTildeExpansion,
  type Atom,
  type DecodeSink,
} from './decode.js';
import type {
  Assignment,
  Flow,
  FlowKind,
  FunctionDefinition,
  Issue,
  IssueCode,
  Payload,
  Redirect,
  RedirectOp,
  Script,
  Segment,
  Span,
  Via,
  Word,
  WrapperUse,
} from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import { extractCommandLines, extractEscapes, scanCapabilities } from './payload.js';
import {
  COMMAND_CARRIERS,
  COMMAND_VARIABLES,
  INTERPRETERS,
  SHELLS,
  SHELL_VALUE_OPTIONS,
  WRAPPERS,
  type EscapeSyntax,
  type WrapperSpec,
} from './registry.js';
import { insertAt, readBash, type Heredoc, type ReadText } from './reader.js';
import { escapeForDisplay, findHiddenCharacters } from './text.js';
import { parseBash, walkTree } from './tree-sitter.js';

// the engine's API has always exported the limits from here
export { PARSE_LIMITS };

export interface ParseOptions {
  /** The input bytes were not valid UTF-8 (decoded with replacement characters). */
  readonly invalidUtf8?: boolean;
  /**
   * A `performance.now()` time past which the walker reads no further statement and reports
   * `budget-exceeded` (the command is then held, never allowed).
   */
  readonly deadline?: number;
}

/** A decoded word plus what the walker needs to parse a payload it carries. */
interface WordEx extends Word {
  /** Top-level offset where `text` appears verbatim, or null. */
  readonly exact: number | null;
  /** A command substitution produced part of the text. */
  readonly substituted: boolean;
  /** Dynamic only through a tilde prefix (`~/bin/tool`): the program's name is still known. */
  readonly tilde?: boolean;
  /** Shaped like an assignment, `NAME=…` with the name unquoted: one, before a command name. */
  readonly assignment?: boolean;
}

interface Frame {
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

interface SegmentDraft {
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
type PendingSubstitution =
  { node: SyntaxNode; frame: Frame } | { text: string; span: Span; frame: Frame; evaluated?: string };

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? path : path.slice(i + 1);
}

function joinSpan(a: Span, b: Span): Span {
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}

/** Tokens tree-sitter may leave as plain text although bash expands what they hold. */
const LEAF_TOKENS = new Set(['word', 'extglob_pattern', 'regex', 'number', 'test_operator', 'file_descriptor']);
const VARIABLE_REF = /\$\{?#?!?([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Arithmetic over constants only (no variable, no expansion, no subscript): what bash evaluates
 * it to does not depend on anything at run time.
 */
function constantArithmetic(text: string): boolean {
  return /^[\s0-9+\-*/%()<>=!&|^~?:,]*$/.test(text.replace(/\b0[xX][0-9a-fA-F]+\b/g, '0'));
}

/** `[[ a -eq b ]]`: both operands are arithmetic expressions. */
const ARITHMETIC_TESTS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);

/** Prompt strings: their command substitutions run whenever bash shows them (PS4 under set -x). */
const PROMPT_VARIABLES = new Set(['PS0', 'PS1', 'PS2', 'PS4']);

/** Only backslash-escaped characters: part of a word, though tree-sitter left them out of its nodes. */
const ESCAPES = /^(?:\\[^\n])+$/;

/** Are two nodes parts of one word (touching, or separated only by escaped characters)? */
function sameWord(prev: SyntaxNode, next: SyntaxNode, text: string): boolean {
  return next.startIndex === prev.endIndex || (text !== '' && ESCAPES.test(text.slice(prev.endIndex, next.startIndex)));
}

/** Unquoted source text as atoms: `\x` an escaped x. */
function unquotedText(raw: string): Atom[] {
  const atoms: Atom[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) atoms.push({ v: raw[++i]!, k: 'e' });
    else atoms.push({ v: raw[i]!, k: 'u' });
  }
  return atoms;
}

/**
 * An unquoted `$` before a name or a bracket that tree-sitter left as text (it splits
 * `{,$x,}` at the `$`): bash expands it, so the word is only known at run time.
 */
function danglingExpansion(atoms: readonly Atom[]): boolean {
  for (let i = 0; i + 1 < atoms.length; i++) {
    if (
      atoms[i]!.k === 'u' &&
      atoms[i]!.v === '$' &&
      atoms[i + 1]!.k === 'u' &&
      /[A-Za-z_0-9@*#?$!{(-]/.test(atoms[i + 1]!.v)
    )
      return true;
  }
  return false;
}

/** `NAME=`, `NAME+=` or `NAME[…]=` at the start, the name unquoted. */
/** The name a variable_assignment node assigns, or null when it is not a name bash would assign. */
function assignmentName(node: SyntaxNode): string | null {
  const target = node.child(0);
  const name = target?.type === 'subscript' ? target.child(0) : target;
  return name && name.type === 'variable_name' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.text) ? name.text : null;
}

function isAssignmentWord(atoms: readonly Atom[]): boolean {
  let i = 0;
  while (i < atoms.length && atoms[i]!.k === 'u' && /[A-Za-z0-9_]/.test(atoms[i]!.v)) i++;
  if (i === 0 || /[0-9]/.test(atoms[0]!.v)) return false;
  if (atoms[i]?.k === 'u' && atoms[i]!.v === '[') {
    while (i < atoms.length && !(atoms[i]!.k === 'u' && atoms[i]!.v === ']')) i++;
    i++;
  }
  if (atoms[i]?.k === 'u' && atoms[i]!.v === '+') i++;
  return atoms[i]?.k === 'u' && atoms[i]!.v === '=';
}

/** The commands of backquoted substitutions written one after another (`a`, `a``b`), unescaped. */
function backquoted(text: string, inDoubleQuotes = false): string[] {
  // inside "…", a backslash before " is removed too (`"\`a '\"'\`"` runs a with the word ")
  const escapable = inDoubleQuotes ? '$`\\"' : '$`\\';
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '`') continue;
    let command = '';
    let j = i + 1;
    for (; j < text.length && text[j] !== '`'; j++) {
      if (text[j] === '\\' && j + 1 < text.length && escapable.includes(text[j + 1]!)) j++;
      command += text[j];
    }
    out.push(command);
    i = j;
  }
  return out;
}

/** Is the node inside a double-quoted string (of the same command text)? */
function insideDoubleQuotes(node: SyntaxNode): boolean {
  for (let n = node.parent; n !== null; n = n.parent) {
    if (n.type === 'string') return true;
    if (
      n.type === 'command_substitution' ||
      n.type === 'process_substitution' ||
      n.type === 'command' ||
      n.type === 'program'
    )
      return false;
  }
  return false;
}

/** Bash's reserved words: at the start of a command they are syntax. */
const RESERVED_WORDS = new Set([
  '!',
  '{',
  '}',
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'case',
  'esac',
  'for',
  'select',
  'while',
  'until',
  'do',
  'done',
  'in',
  'function',
  'time',
  '[[',
  ']]',
  'coproc',
]);

/** Repairs of tree-sitter misreadings tried on one text before it counts as unparsable. */
const MAX_REPAIRS = 32;

/** A value holding an array subscript with a command in it (`a[$(id)]`). */
const SUBSCRIPT_COMMAND = /\[[^\]]*(?:\$\(|`)/;

/** Nodes that are one simple command to bash: never across an unquoted newline. */
const ONE_LINE = new Set([
  'command',
  'redirected_statement',
  'variable_assignments',
  'declaration_command',
  'unset_command',
  'negated_command',
]);

/**
 * Where tree-sitter read two lines as one command (`x=1 y=2⏎{ rm …; }` as a command named `{`,
 * `ls⏎\rm x` as `ls` with an argument `⏎rm`): the place to insert `;` (or, before a word that
 * starts a line, a blank) so that it reads them as bash does. Null when there is none.
 */
function findGlue(root: SyntaxNode, text: string): { index: number; chars: string } | null {
  // a cursor, not node.children: marshalling every node's children made a 60 KB command take
  // seconds. Nodes are visited as a stack would (each node, then its children last first).
  const cursor = root.walk();
  for (;;) {
    const type = cursor.nodeType;
    if (type !== 'heredoc_body') {
      if (ONE_LINE.has(type)) {
        const glue = glueInside(cursor, type, text);
        if (glue) return glue;
      }
      if (type === 'word') {
        const word = text.slice(cursor.startIndex, cursor.endIndex);
        if (word.includes('\n')) {
          const lead = /^\n+/.exec(word);
          return lead
            ? { index: cursor.startIndex + lead[0].length, chars: ' ' }
            : { index: cursor.startIndex + word.indexOf('\n'), chars: ';' };
        }
      }
      if (cursor.gotoLastChild()) continue;
    }
    for (;;) {
      if (cursor.gotoPreviousSibling()) break;
      if (!cursor.gotoParent()) return null;
    }
  }
}

/** The glue inside one statement node (the cursor is on it, and is left there). */
function glueInside(
  cursor: ReturnType<SyntaxNode['walk']>,
  type: string,
  text: string,
): { index: number; chars: string } | null {
  const children: { type: string; named: boolean; start: number; end: number }[] = [];
  if (cursor.gotoFirstChild()) {
    do
      children.push({
        type: cursor.nodeType,
        named: cursor.nodeIsNamed,
        start: cursor.startIndex,
        end: cursor.endIndex,
      });
    while (cursor.gotoNextSibling());
    cursor.gotoParent();
  }
  let gap = -1;
  for (let k = 1; k < children.length && gap === -1; k++) {
    const prev = children[k - 1]!;
    const next = children[k]!;
    if (next.type === 'heredoc_redirect' || prev.type === 'heredoc_redirect') continue;
    if (text.slice(prev.end, next.start).includes('\n')) gap = k;
  }
  // `a == b` outside [[ ]]: tree-sitter reads `==` as a test operator and what follows as a
  // regex running across `;` and newlines; to bash it is just the word `==` (escaping it
  // says so). Before a line break, else the `;` put there leaves `==` an ERROR.
  const op =
    type === 'command'
      ? children.findIndex((c) => !c.named && (c.type === '==' || c.type === '=~' || c.type === '!='))
      : -1;
  if (op !== -1 && (gap === -1 || op < gap)) return { index: children[op]!.start, chars: '\\' };
  if (gap !== -1) {
    const prev = children[gap - 1]!;
    return { index: prev.type === 'comment' ? prev.start : prev.end, chars: ';' };
  }
  return null;
}

/** Node kinds that are (part of) one word inside a test expression. */
const WORD_NODES = new Set([
  'word',
  'string',
  'raw_string',
  'ansi_c_string',
  'translated_string',
  'number',
  'concatenation',
  'simple_expansion',
  'expansion',
  'command_substitution',
  'process_substitution',
  'arithmetic_expansion',
  'brace_expression',
  'extglob_pattern',
  'regex',
  'test_operator',
  'variable_name',
]);

class Walker {
  private readonly segments: SegmentDraft[] = [];
  private readonly flows: Flow[] = [];
  private readonly flowKeys = new Set<string>();
  private readonly redirects: Redirect[] = [];
  private readonly assignments: Assignment[] = [];
  private readonly functions: FunctionDefinition[] = [];
  private readonly issues: Issue[] = [];
  private readonly issueKeys = new Set<string>();
  /** Variable name → segments whose output it may hold (`x=$(curl …)`). */
  private readonly variables = new Map<string, number[]>();
  /** Variable name → its last static value, as far as the text shows (for `${x@P}`). */
  private readonly values = new Map<string, string>();
  /**
   * Attributes a declaration gave a name (`declare -i n`, `local -u s`): with `i` every value
   * assigned is evaluated as arithmetic (running `a[$(cmd)]`), with `u`, `l` or `c` its case changes.
   */
  private readonly attributes = new Map<string, Set<string>>();
  /** The frame each segment was built in (for what is found in its words later). */
  private readonly frames = new Map<number, Frame>();
  /**
   * Nodes tree-sitter left after an assignment or a redirect that are the rest of its word, by
   * node id; taken once, right after they are found (ids are only unique within one tree).
   */
  private readonly tails = new Map<number, SyntaxNode[]>();

  private takeTails(node: SyntaxNode): SyntaxNode[] {
    const tail = this.tails.get(node.id) ?? [];
    this.tails.delete(node.id);
    return tail;
  }
  /** Levels of nesting being read (see nested()). */
  private depth = 0;
  /** Syntax nested past PARSE_LIMITS.maxSyntaxDepth was found (and reported once). */
  private overDepth = false;
  private deadline = Infinity;
  /** More segments than PARSE_LIMITS.maxSegments were found: the rest is not read. */
  private overSegments = false;
  private overBudget = false;
  /** ERROR nodes the walker understood (tree-sitter-bash misparses `3<>file`). */
  private readonly tolerated = new Set<number>();

  constructor(private readonly source: string) {}

  run(options: ParseOptions): Script {
    const source = this.source;
    this.deadline = options.deadline ?? Infinity;
    const hidden = findHiddenCharacters(source);
    if (hidden.length > 0) {
      const first = hidden[0]!;
      const shown = [...new Set(hidden.map((h) => escapeForDisplay(String.fromCodePoint(h.codePoint))))]
        .slice(0, 6)
        .join(' ');
      this.issue(
        'hidden-characters',
        `${hidden.length} hidden or control character(s) that a reviewer may not see: ${shown}`,
        [first.index, first.index + 1],
      );
    }
    if (options.invalidUtf8) this.issue('invalid-utf8', 'the command is not valid UTF-8', [0, source.length]);
    if (Buffer.byteLength(source, 'utf8') > PARSE_LIMITS.maxBytes) {
      this.issue('too-large', `the command is larger than ${PARSE_LIMITS.maxBytes / 1024} KiB and was not parsed`, [
        0,
        source.length,
      ]);
      return this.finish(hidden);
    }
    let text = source;
    if (text.includes('\u0000')) {
      this.issue('nul-byte', 'the command contains NUL bytes', [text.indexOf('\u0000'), text.indexOf('\u0000') + 1]);
      text = text.replace(/\u0000/g, ' '); // same length, so spans still point into the source
    }
    if (text.trim() === '') {
      this.issue('empty', 'the command is empty', [0, source.length]);
      return this.finish(hidden);
    }
    const top: Frame = { ...LINEAR, via: 'top', parent: null, depth: 0, privileged: false, remote: null };
    this.parseText(text, top);
    if (this.segments.length === 0 && this.issues.length === 0) {
      this.issue('empty', 'no command would run (only comments or assignments)', [0, source.length]);
    }
    return this.finish(hidden);
  }

  // ---------------------------------------------------------------------------------------------
  // bookkeeping

  private span(frame: Frame, start: number, end: number): Span {
    if (frame.fixed) return frame.fixed;
    return [this.at(frame, start), this.at(frame, end)];
  }

  private at(frame: Frame, local: number): number {
    return frame.offset + (frame.table ? frame.table[Math.min(local, frame.table.length - 1)]! : local);
  }

  /** The top-level offset where [local, local + length) is a verbatim copy of the input, or null. */
  private verbatimAt(frame: Frame, local: number, length: number): number | null {
    if (frame.fixed) return null;
    if (frame.breaks && frame.breaks[Math.min(local + length, frame.breaks.length - 1)]! - frame.breaks[local]! !== 0)
      return null;
    return this.at(frame, local);
  }

  /** A top-level offset back to the local text (the first local offset at or after it). */
  private toLocal(frame: Frame, top: number): number {
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

  private nodeSpan(frame: Frame, node: SyntaxNode): Span {
    return this.span(frame, node.startIndex, node.endIndex);
  }

  private issue(code: IssueCode, message: string, span: Span): void {
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
  private nested<T>(frame: Frame, node: SyntaxNode, none: T, read: () => T): T {
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
  private tooDeep(span: Span): void {
    if (this.overDepth) return;
    this.overDepth = true;
    this.issue('too-deep', `syntax nested more than ${PARSE_LIMITS.maxSyntaxDepth} levels deep was not read`, span);
  }

  private flow(from: number, to: number, kind: FlowKind): void {
    if (from === to) return;
    const key = `${from}>${to}:${kind}`;
    if (this.flowKeys.has(key)) return;
    this.flowKeys.add(key);
    this.flows.push({ from, to, kind });
  }

  private child(frame: Frame, via: Via, parent: number | null, extra: Partial<Frame> = {}): Frame {
    return { ...frame, via, parent, ...extra };
  }

  /** A frame for parsing the text of `word` as a nested script. */
  private payloadFrame(frame: Frame, word: WordEx, via: Via, parent: number, extra: Partial<Frame> = {}): Frame {
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

  private textFrame(frame: Frame, span: Span, via: Via, parent: number, extra: Partial<Frame> = {}): Frame {
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

  // ---------------------------------------------------------------------------------------------
  // statements

  private parseText(text: string, frame: Frame): number[] {
    if (frame.depth > PARSE_LIMITS.maxPayloadDepth) {
      this.issue(
        'too-deep',
        `payloads nested more than ${PARSE_LIMITS.maxPayloadDepth} levels deep were not parsed`,
        this.span(frame, 0, text.length),
      );
      return [];
    }
    // continuations and here-documents as bash's reader sees them, before tree-sitter does
    let read = readBash(text);
    const whole = this.span(frame, 0, text.length);
    let tree = this.treeOf(read.text, whole);
    if (tree === null) return [];
    // where tree-sitter glued two lines into one command, separate them as bash does, and parse again
    for (let repairs = 0; repairs < MAX_REPAIRS; repairs++) {
      const glue = findGlue(tree.rootNode, read.text);
      if (glue === null) break;
      read = insertAt(read, glue.index, glue.chars);
      tree = this.treeOf(read.text, whole);
      if (tree === null) return [];
    }
    const local = this.readFrame(frame, read);
    const root = tree.rootNode;
    const ids = this.compound(root, local);
    if (findGlue(root, read.text))
      this.issue(
        'parse-error',
        'the parser read several lines as one command',
        this.span(local, root.startIndex, root.endIndex),
      );
    if (root.hasError) this.reportErrors(root, local);
    if (frame.via === 'top') this.interactiveInput(root, read.text, local);
    return ids;
  }

  /**
   * tree-sitter's reading of `text`, or null when it was not done by the deadline (some malformed
   * input takes it time quadratic in its length): then nothing of the text is read, and the
   * command gets `budget-exceeded`.
   */
  private treeOf(text: string, span: Span): Tree | null {
    const tree = this.overBudget ? null : parseBash(text, this.deadline);
    if (tree === null) {
      if (!this.overBudget)
        this.issue(
          'budget-exceeded',
          'reading the command took longer than the gate allows; the rest was not read',
          span,
        );
      this.overBudget = true;
    }
    return tree;
  }

  /** The frame for the text tree-sitter parses, composed with the reader's offset map. */
  private readFrame(frame: Frame, read: ReadText): Frame {
    const { map, breaks } = read;
    const byToken = new Map(read.heredocs.map((h) => [h.tokenStart, h]));
    if (map === null || frame.fixed) return { ...frame, heredocs: byToken, text: read.text };
    let table = map;
    let composedBreaks = breaks;
    if (frame.table) {
      const outer = frame.table;
      table = map.map((k) => outer[Math.min(k, outer.length - 1)]!);
      composedBreaks = new Int32Array(table.length);
      for (let k = 1; k < table.length; k++)
        composedBreaks[k] = composedBreaks[k - 1]! + (table[k] === table[k - 1]! + 1 ? 0 : 1);
    }
    return { ...frame, table, breaks: composedBreaks, heredocs: byToken, text: read.text };
  }

  /**
   * An interpreter started with no program (`python3`, `tclsh`, `jjs`) reads the lines that
   * follow it when the script itself is its input: scan those lines as its code too.
   */
  private interactiveInput(root: SyntaxNode, text: string, frame: Frame): void {
    for (const seg of this.segments) {
      if (seg.via !== 'top' || seg.stdin?.kind !== 'interpreter' || seg.payload) continue;
      if (seg.redirects.some((r) => r.fd === null || r.fd === 0) || this.flows.some((f) => f.to === seg.id)) continue;
      const end = this.toLocal(frame, seg.span[1]);
      const newline = text.indexOf('\n', end);
      if (newline === -1 || newline >= root.endIndex) continue;
      const rest = text.slice(newline + 1);
      if (rest.trim() === '') continue;
      const word: WordEx = {
        text: rest,
        dynamic: false,
        glob: false,
        span: this.span(frame, newline + 1, text.length),
        exact: null,
        substituted: false,
      };
      this.setPayload(seg, frame, seg.stdin.language, word);
    }
  }

  private reportErrors(root: SyntaxNode, frame: Frame): void {
    // a cursor, not recursion (the tree is as deep as the text nests): each node in document
    // order, looking inside only the nodes that hold an error
    const cursor = root.walk();
    let reported = 0;
    for (let more = true; more;) {
      const node = cursor.currentNode;
      if (node.isMissing) {
        this.issue('missing-token', `incomplete command: "${node.type}" is missing`, this.nodeSpan(frame, node));
        reported++;
      } else if (node.type === 'ERROR' && !this.tolerated.has(node.id)) {
        const snippet = escapeForDisplay(node.text.slice(0, 40));
        this.issue(
          'parse-error',
          `bash syntax the parser could not read: ${JSON.stringify(snippet)}`,
          this.nodeSpan(frame, node),
        );
        reported++;
      }
      if (node.hasError && cursor.gotoFirstChild()) continue;
      // the next sibling of the node or of its nearest ancestor that has one; none past the root
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) {
          more = false;
          break;
        }
      }
    }
    if (reported === 0 && this.tolerated.size === 0)
      this.issue(
        'parse-error',
        'bash syntax the parser could not read',
        this.span(frame, root.startIndex, root.endIndex),
      );
  }

  private statement(node: SyntaxNode, frame: Frame): number[] {
    if (this.overBudget || performance.now() > this.deadline) {
      if (!this.overBudget)
        this.issue(
          'budget-exceeded',
          'reading the command took longer than the gate allows; the rest was not read',
          this.nodeSpan(frame, node),
        );
      this.overBudget = true;
      return [];
    }
    return this.nested(frame, node, [], () => {
      if (this.segments.length >= PARSE_LIMITS.maxSegments) {
        // said once, from the first statement not read to the end
        if (!this.overSegments)
          this.issue(
            'too-large',
            `more than ${PARSE_LIMITS.maxSegments} commands: the rest was not read`,
            this.span(frame, node.startIndex, frame.text.length),
          );
        this.overSegments = true;
        return [];
      }
      return this.statementInner(node, frame);
    });
  }

  private statementInner(node: SyntaxNode, frame: Frame): number[] {
    switch (node.type) {
      case 'program':
      case 'subshell':
      case 'do_group':
      case 'else_clause':
      case 'elif_clause':
      case 'if_statement':
      case 'while_statement':
      case 'case_statement':
      case 'case_item':
      case 'negated_command':
        return this.compound(node, frame);
      case 'compound_statement':
        return node.child(0)?.type === '((' ? this.arithmeticCommand(node, frame) : this.compound(node, frame);
      case 'test_command':
        return this.testCommand(node, frame);
      case 'for_statement':
        return this.forStatement(node, frame);
      case 'c_style_for_statement':
        return this.cStyleFor(node, frame);
      case 'list':
        this.checkCoverage(node, frame);
        return this.list(node, frame);
      case 'pipeline':
        this.checkCoverage(node, frame);
        return this.pipeline(node.namedChildren, frame);
      case 'redirected_statement':
        return this.redirected(node, frame);
      case 'command':
        return this.command(node, frame, [], []);
      case 'declaration_command':
      case 'unset_command':
        return this.declaration(node, frame);
      case 'variable_assignment':
      case 'variable_assignments': {
        const list = node.type === 'variable_assignment' ? [node] : node.namedChildren;
        const misread = list.some((a, k) => !assignmentName(a) || (k > 0 && a.startIndex === list[k - 1]!.endIndex));
        if (misread) return this.command(node, frame, [], [], list);
        for (const a of list) this.assignment(a, frame, null, false);
        return [];
      }
      case 'function_definition':
        return this.functionDefinition(node, frame);
      case 'comment':
        return [];
      case 'ERROR':
        // reported by reportErrors; still look inside for commands to score
        return this.compound(node, frame);
      default:
        if (this.isExpression(node)) {
          this.expression(node, frame, frame.parent);
          return [];
        }
        this.issue('unknown-construct', `unsupported bash construct "${node.type}"`, this.nodeSpan(frame, node));
        return this.compound(node, frame);
    }
  }

  private isExpression(node: SyntaxNode): boolean {
    return /expression$|^(word|string|raw_string|number|concatenation|simple_expansion|expansion|command_substitution|process_substitution|arithmetic_expansion|ansi_c_string|translated_string|variable_name|special_variable_name|subscript|test_operator|extglob_pattern|regex|brace_expression|array|heredoc_body|heredoc_start|heredoc_end|heredoc_content|file_descriptor)$/.test(
      node.type,
    );
  }

  /**
   * Statements and expressions inside a node (the program, a block, a loop body): run them,
   * collect their segments; `&` marks the statement before it as background.
   */
  private compound(node: SyntaxNode, frame: Frame): number[] {
    const ids: number[] = [];
    let previous: number[] = [];
    if (node.type !== 'ERROR') this.checkCoverage(node, frame);
    for (const child of node.children) {
      if (!child.isNamed) {
        if (child.type === '&') for (const id of previous) this.segments[id]!.background = true;
        continue;
      }
      if (child.type === 'file_redirect' && node.type === 'command_substitution') {
        // `$(<file)` is `$(cat file)`
        previous = this.readRedirect(child, frame);
        ids.push(...previous);
      } else if (this.isExpression(child)) {
        this.expression(child, frame, frame.parent);
        previous = [];
      } else {
        previous = this.statement(child, frame);
        ids.push(...previous);
      }
    }
    return ids;
  }

  /**
   * Tree-sitter's reading of a statement list must account for every byte bash reads: text
   * between children that is not blank was dropped (`a - 2>&1` loses the `-`), and two
   * statements touching with no separator between them were one word to bash (`x=''\(`).
   * Either way what runs is not what the IR says: a parse error (never whitelisted).
   */
  private checkCoverage(node: SyntaxNode, frame: Frame, statements = true): void {
    if (frame.text === '' || node.type === 'heredoc_body') return;
    const children = node.children;
    for (let k = 1; k < children.length; k++) {
      const prev = children[k - 1]!;
      const next = children[k]!;
      const gap = frame.text.slice(prev.endIndex, next.startIndex);
      if (/\S/.test(gap) && !ESCAPES.test(gap)) {
        this.issue(
          'parse-error',
          `the parser skipped ${JSON.stringify(escapeForDisplay(gap.trim().slice(0, 30)))}`,
          this.span(frame, prev.endIndex, next.startIndex),
        );
      } else if (
        statements &&
        gap === '' &&
        prev.isNamed &&
        next.isNamed &&
        !this.isExpression(prev) &&
        !this.isExpression(next) &&
        prev.type !== 'comment' &&
        next.type !== 'comment'
      ) {
        this.issue(
          'parse-error',
          'the parser split one word into two statements',
          this.span(frame, prev.startIndex, next.endIndex),
        );
      }
    }
  }

  private readRedirect(node: SyntaxNode, frame: Frame): number[] {
    const pending: PendingSubstitution[] = [];
    const { redirect } = this.redirect(node, frame, [], [], pending);
    if (!redirect) return [];
    const span = this.nodeSpan(frame, node);
    const cat: WordEx = { text: 'cat', dynamic: false, glob: false, span, exact: null, substituted: false };
    return this.buildSegment([cat], frame, span, [], [redirect], pending);
  }

  /** `a && b || c` nests to the left; walk it without recursion. */
  private list(node: SyntaxNode, frame: Frame, trailing: SyntaxNode[] = []): number[] {
    const chain: SyntaxNode[] = [];
    let current: SyntaxNode | null = node;
    while (current && current.type === 'list') {
      const named: SyntaxNode[] = current.namedChildren;
      chain.unshift(...named.slice(1));
      current = named[0] ?? null;
    }
    if (current) chain.unshift(current);
    const ids: number[] = [];
    chain.forEach((part, k) =>
      ids.push(...(k === chain.length - 1 ? this.withTrailing(part, frame, trailing) : this.statement(part, frame))),
    );
    return ids;
  }

  /**
   * A statement with redirects written after it that bash applies to its last simple command:
   * tree-sitter hangs `a || b 0<in | c` on the whole list, bash reads `0<in` into b.
   */
  private withTrailing(part: SyntaxNode, frame: Frame, trailing: SyntaxNode[]): number[] {
    if (trailing.length === 0) return this.statement(part, frame);
    if (part.type === 'command') return this.command(part, frame, trailing, []);
    if (part.type === 'pipeline') {
      this.checkCoverage(part, frame);
      return this.pipeline(part.namedChildren, frame, [], trailing);
    }
    if (part.type === 'list') {
      this.checkCoverage(part, frame);
      return this.list(part, frame, trailing);
    }
    const ids = this.statement(part, frame);
    this.applyRedirects(trailing, ids, frame);
    return ids;
  }

  /**
   * A pipeline; `trailing` are redirects written after it, which bash applies to its last
   * command (`a | b 0<in` reads `in` into b), though tree-sitter hangs them on the whole pipeline.
   */
  private pipeline(elements: SyntaxNode[], frame: Frame, head: number[] = [], trailing: SyntaxNode[] = []): number[] {
    const groups: number[][] = head.length > 0 ? [head] : [];
    const parts = elements.filter((e) => e.type !== 'comment');
    parts.forEach((element, k) =>
      groups.push(
        k === parts.length - 1 ? this.withTrailing(element, frame, trailing) : this.statement(element, frame),
      ),
    );
    for (let i = 0; i + 1 < groups.length; i++) {
      if (this.flows.length + groups[i]!.length * groups[i + 1]!.length > PARSE_LIMITS.maxFlows) {
        this.issue(
          'too-large',
          `more than ${PARSE_LIMITS.maxFlows} data flows between commands`,
          this.nodeSpan(frame, elements[0]!),
        );
        break;
      }
      for (const a of groups[i]!) for (const b of groups[i + 1]!) this.flow(a, b, 'pipe');
    }
    this.feedLiterals(groups, frame);
    return groups.flat();
  }

  private redirected(node: SyntaxNode, frame: Frame): number[] {
    this.checkCoverage(node, frame, false);
    const body = node.childForFieldName('body');
    const redirectNodes: SyntaxNode[] = [];
    for (const child of node.namedChildren) {
      if (child.type === 'file_redirect' || child.type === 'heredoc_redirect' || child.type === 'herestring_redirect')
        redirectNodes.push(child);
    }
    if (body && body.type === 'command') {
      return this.command(body, frame, redirectNodes, []);
    }
    if (body && (body.type === 'pipeline' || body.type === 'list'))
      return this.withTrailing(body, frame, redirectNodes);
    const ids = body ? this.statement(body, frame) : [];
    this.applyRedirects(redirectNodes, ids, frame);
    return ids;
  }

  /** Redirects written after a compound statement: they apply to every segment in it. */
  private applyRedirects(redirectNodes: SyntaxNode[], ids: number[], frame: Frame): void {
    const pending: PendingSubstitution[] = [];
    for (const r of redirectNodes) {
      const { redirect } = this.redirect(r, frame, ids, [], pending);
      if (redirect) this.attachRedirect(redirect, ids);
    }
    this.runSubstitutions(pending, ids.length === 1 ? ids[0]! : null);
  }

  private attachRedirect(redirect: Redirect, ids: readonly number[]): void {
    this.redirects.push(redirect);
    for (const id of ids) this.segments[id]!.redirects.push(redirect);
  }

  // ---------------------------------------------------------------------------------------------
  // words

  private decode(node: SyntaxNode, frame: Frame, substitutions: PendingSubstitution[]): WordEx {
    return this.decodeRun([node], frame, substitutions);
  }

  /** The atoms of adjacent nodes (no space between them: one word to bash). */
  private atomsOf(
    nodes: SyntaxNode[],
    frame: Frame,
    substitutions: PendingSubstitution[],
  ): { atoms: Atom[]; span: Span; exactLocal: number | null; substituted: boolean } {
    const atoms: Atom[] = [];
    let substituted = false;
    let exactLocal: number | null = nodes.length === 1 ? -1 : null;
    const sink: DecodeSink = {
      substitution: (n) => {
        substituted ||= n.type === 'command_substitution' || n.type === 'process_substitution';
        substitutions.push({ node: n, frame });
      },
      unknown: (n) => {
        if (n.type !== 'ERROR')
          this.issue('unknown-construct', `unsupported bash construct "${n.type}" in a word`, this.nodeSpan(frame, n));
      },
      evaluates: (n) => this.evaluatedExpansion(n, frame, substitutions),
      literal: (n) => this.literalSubstitution(n, frame),
      original: (n) =>
        displayText(
          frame.text || n.text,
          frame.text ? n.startIndex : 0,
          frame.text ? n.endIndex : n.text.length,
          frame.heredocs,
        ),
      misread: (n) =>
        this.issue(
          'parse-error',
          `the parser read ${JSON.stringify(escapeForDisplay(n.text.slice(0, 40)))} as one word`,
          this.nodeSpan(frame, n),
        ),
      tooDeep: (n) => this.tooDeep(this.nodeSpan(frame, n)),
    };
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      // an escaped character tree-sitter left between two nodes of one word (`{\ ,}b`)
      if (i > 0 && n.startIndex > nodes[i - 1]!.endIndex) {
        const gap = frame.text.slice(nodes[i - 1]!.endIndex, n.startIndex);
        if (!ESCAPES.test(gap))
          this.issue(
            'parse-error',
            `the parser joined words bash keeps apart: ${JSON.stringify(escapeForDisplay(gap.slice(0, 30)))}`,
            this.span(frame, nodes[i - 1]!.endIndex, n.startIndex),
          );
        atoms.push(...unquotedText(gap));
      }
      const part = decodeNode(n, sink);
      // `$"…"` (a translated string) arrives as a `$` token (sometimes with text before it) and a string
      const next = nodes[i + 1];
      // (unless the `$` is escaped: `'x'\$"y"` is x$y, a `$` token whose text is `\$`)
      const escapedDollar = /(?:^|[^\\])(?:\\\\)*\\\$$/.test(n.text);
      const translated =
        !n.isNamed &&
        n.type === '$' &&
        !escapedDollar &&
        next !== undefined &&
        (next.type === 'string' || (next.type === 'concatenation' && next.child(0)?.type === 'string'));
      if (translated) atoms.push(...unquotedText(n.text.slice(0, -1)));
      else atoms.push(...part.atoms);
      if (exactLocal === -1) exactLocal = part.exact;
    }
    const first = nodes[0]!;
    const last = nodes[nodes.length - 1]!;
    return {
      atoms,
      span: this.span(frame, first.startIndex, last.endIndex),
      exactLocal: exactLocal === -1 ? null : exactLocal,
      substituted,
    };
  }

  /**
   * What `"$(cat <<'EOF' … EOF)"` prints, when it is known without running anything: `cat` of a
   * here-document or here-string with static text, trailing newlines removed as bash removes
   * them. Agents write commit messages this way.
   */
  private literalSubstitution(node: SyntaxNode, frame: Frame): string | null {
    if (node.child(0)?.type !== '$(' || node.namedChildCount !== 1) return null;
    const statement = node.namedChild(0)!;
    // `cat <<EOF` (read as `cat <TOKEN`) is a redirected statement; `cat <<< x` a command holding its redirect
    const body = statement.type === 'redirected_statement' ? statement.childForFieldName('body') : statement;
    if (
      !body ||
      body.type !== 'command' ||
      body.namedChild(0)?.type !== 'command_name' ||
      body.namedChild(0)!.text !== 'cat'
    )
      return null;
    const redirects = [
      ...(statement === body ? [] : statement.namedChildren.filter((c) => c.id !== body.id)),
      ...body.namedChildren.slice(1),
    ];
    const r = redirects[0];
    if (redirects.length !== 1 || !r || r.childForFieldName('descriptor')) return null;
    let text: string;
    const known = heredocOf(r, frame);
    if (known) {
      if (!known.terminated) return null;
      if (known.quoted) text = known.body;
      else {
        const decoded = decodeHeredocBody(known.body);
        if (decoded.dynamic) return null;
        text = decoded.text;
      }
    } else if (r.type === 'herestring_redirect') {
      const value = r.namedChildren.filter((c) => c.type !== 'file_descriptor');
      if (value.length === 0) return null;
      // the value may hold another such substitution, whose output is read in turn: one level deeper
      const word = this.nested(frame, r, null, () => this.decodeRun(value, frame, []));
      if (!word || word.dynamic) return null;
      text = `${word.text}\n`;
    } else return null;
    return text.replace(/\n+$/, '');
  }

  /** A word from atoms: dynamic when any part is only known at run time, tilde included. */
  private wordOf(atoms: readonly Atom[], span: Span, exact: number | null, substituted: boolean): WordEx {
    const text = atomsText(atoms);
    const opaque = atoms.some((a) => a.k === 'o') || danglingExpansion(atoms);
    const tilde = hasTildeExpansion(atoms);
    const assignment = isAssignmentWord(atoms);
    return {
      text,
      dynamic: opaque || tilde,
      glob: hasGlob(atoms),
      span,
      exact: opaque || tilde ? null : exact,
      substituted,
      ...(tilde && !opaque ? { tilde } : {}),
      ...(assignment ? { assignment } : {}),
    };
  }

  /** One word, as in redirect targets and assignment values: no brace expansion. */
  private decodeRun(nodes: SyntaxNode[], frame: Frame, substitutions: PendingSubstitution[]): WordEx {
    const { atoms, span, exactLocal, substituted } = this.atomsOf(nodes, frame, substitutions);
    const text = atomsText(atoms);
    const exact = exactLocal === null ? null : this.verbatimAt(frame, exactLocal, text.length);
    return this.wordOf(atoms, span, exact, substituted);
  }

  /** The words one command word becomes after brace expansion (`{'-a',b}` → `-a` `b`). */
  private expandRun(
    nodes: SyntaxNode[],
    frame: Frame,
    substitutions: PendingSubstitution[],
    prefix: { assigning: boolean },
  ): WordEx[] {
    const { atoms, span, exactLocal, substituted } = this.atomsOf(nodes, frame, substitutions);
    // bash knows an assignment word before it expands anything, and expands no braces in it
    if (prefix.assigning && isAssignmentWord(atoms)) {
      const text = atomsText(atoms);
      return [
        this.wordOf(
          atoms,
          span,
          exactLocal === null ? null : this.verbatimAt(frame, exactLocal, text.length),
          substituted,
        ),
      ];
    }
    prefix.assigning = false;
    let expanded: Atom[][];
    try {
      expanded = braceExpand(atoms);
    } catch (err) {
      if (err instanceof TooDeep) this.tooDeep(span);
      else if (!(err instanceof TooManyWords)) throw err;
      // more words than are worth spelling out, or nested too deep to: one word standing for all of them
      return [{ text: atomsText(atoms), dynamic: true, glob: true, span, exact: null, substituted }];
    }
    if (expanded.some((w) => w.some((a) => a.k === 'u' && a.v === '`'))) {
      // `{Z..b}` generates a backquote, which bash then reads as the start of a command
      // substitution (and fails on, abandoning the line): not read further here
      this.issue(
        'parse-error',
        'a brace sequence generates a backquote, which bash reads as a command substitution',
        span,
      );
    }
    if (expanded.length === 1 && expanded[0]!.length === atoms.length) {
      const text = atomsText(atoms);
      const exact = exactLocal === null ? null : this.verbatimAt(frame, exactLocal, text.length);
      return [this.wordOf(atoms, span, exact, substituted)];
    }
    return expanded.map((w) => this.wordOf(w, span, null, substituted));
  }

  /** Group argument nodes into words: nodes that touch (or only escaped characters separate) are one word. */
  private words(
    nodes: SyntaxNode[],
    frame: Frame,
    substitutions: PendingSubstitution[],
    assignmentsFirst = false,
  ): WordEx[] {
    const out: WordEx[] = [];
    const prefix = { assigning: assignmentsFirst };
    let run: SyntaxNode[] = [];
    for (const n of nodes) {
      if (run.length > 0 && !sameWord(run[run.length - 1]!, n, frame.text)) {
        out.push(...this.expandRun(run, frame, substitutions, prefix));
        run = [];
      }
      run.push(n);
    }
    if (run.length > 0) out.push(...this.expandRun(run, frame, substitutions, prefix));
    return out;
  }

  /** Expressions (test conditions, arithmetic, for-lists, case values) run only their substitutions. */
  private expression(node: SyntaxNode, frame: Frame, owner: number | null): void {
    // its substitutions are statements one level deeper
    this.nested(frame, node, undefined, () => {
      const pending: PendingSubstitution[] = [];
      const cut = walkTree([node], (n) => {
        if (n.type === 'command_substitution' || n.type === 'process_substitution') {
          pending.push({ node: n, frame });
          return [];
        }
        if (n.namedChildCount === 0 && LEAF_TOKENS.has(n.type) && hasUnparsedExpansion(n.text)) {
          // a case pattern or a regex tree-sitter left as text, holding `cmd` or $(cmd): bash runs it
          this.issue(
            'parse-error',
            `the parser read ${JSON.stringify(escapeForDisplay(n.text.slice(0, 40)))} as one word`,
            this.nodeSpan(frame, n),
          );
        }
        return n.namedChildren;
      });
      if (cut) this.tooDeep(this.nodeSpan(frame, cut));
      this.runSubstitutions(pending, owner);
    });
  }

  private runSubstitutions(pending: PendingSubstitution[], owner: number | null): number[] {
    const produced: number[] = [];
    for (const p of pending) {
      const { frame } = p;
      const node = 'node' in p ? p.node : null;
      const isProcess = node?.type === 'process_substitution';
      const via: Via = isProcess ? 'process-substitution' : 'substitution';
      let ids: number[];
      if ('node' in p && p.node.text.startsWith('`')) {
        // inside backquotes bash removes the backslash of \$, \` and \\ before it reads the
        // command, and `a``b` is two substitutions: read them as bash does
        ids = [];
        for (const command of backquoted(p.node.text, insideDoubleQuotes(p.node))) {
          ids.push(
            ...this.parseText(command, {
              ...this.textFrame(frame, this.nodeSpan(frame, p.node), via, owner ?? frame.parent ?? 0),
              parent: owner ?? frame.parent,
              depth: frame.depth,
            }),
          );
        }
      } else if ('node' in p) ids = this.compound(p.node, this.child(frame, via, owner ?? frame.parent));
      else {
        if (p.evaluated)
          this.issue(
            'evaluated-code',
            `${p.evaluated} evaluates text at run time, running ${JSON.stringify(escapeForDisplay(p.text.slice(0, 60)))}`,
            p.span,
          );
        ids = this.parseText(p.text, {
          ...this.textFrame(frame, p.span, via, owner ?? frame.parent ?? 0),
          parent: owner ?? frame.parent,
          depth: frame.depth,
        });
      }
      produced.push(...ids);
      if (owner === null) continue;
      const writesInto = isProcess && node?.child(0)?.type === '>(';
      for (const id of ids) {
        if (writesInto) this.flow(owner, id, 'process-substitution');
        else this.flow(id, owner, isProcess ? 'process-substitution' : 'substitution');
      }
    }
    return produced;
  }

  private variableFlows(words: readonly WordEx[], owner: number): void {
    for (const w of words) {
      if (!w.dynamic) continue;
      for (const m of w.text.matchAll(VARIABLE_REF)) {
        for (const from of this.variables.get(m[1]!) ?? []) this.flow(from, owner, 'variable');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // assignments and declarations

  /** The value a name with attributes really gets: run-time, and evaluated for an integer. */
  private attributed(name: string, value: WordEx | null, frame: Frame, segment: number | null): WordEx | null {
    const attrs = this.attributes.get(name);
    if (!value || !attrs || attrs.size === 0) return value;
    if (
      attrs.has('i') &&
      /^\s*(?:0|[1-9][0-9]*)\s*$/.test(value.text) &&
      !attrs.has('u') &&
      !attrs.has('l') &&
      !attrs.has('c')
    )
      return value;
    if (attrs.has('i') && !value.dynamic)
      this.evaluatedText(value.text, value.span, frame, segment, `an assignment to the integer variable ${name}`);
    return { ...value, dynamic: true, exact: null };
  }

  /** `declare -i n`, `local +u s`: the attributes the options give or take away, for each name. */
  private declareAttributes(words: readonly string[], names: readonly string[]): void {
    const add = new Set<string>();
    const remove = new Set<string>();
    for (const w of words) {
      const m = /^([-+])([a-zA-Z]+)$/.exec(w);
      if (!m) continue;
      for (const letter of m[2]!) if ('iulc'.includes(letter)) (m[1] === '-' ? add : remove).add(letter);
    }
    if (add.size === 0 && remove.size === 0) return;
    for (const name of names) {
      const set = new Set(this.attributes.get(name) ?? []);
      for (const l of add) set.add(l);
      for (const l of remove) set.delete(l);
      // -u and -l exclude each other: the last one given wins
      this.attributes.set(name, set);
    }
  }

  private assignment(node: SyntaxNode, frame: Frame, segment: number | null, exported: boolean): Assignment | null {
    const nameNode = node.childForFieldName('name');
    const valueNode = node.childForFieldName('value');
    if (!nameNode) return null;
    const pending: PendingSubstitution[] = [];
    let value = this.assignmentValue(node, valueNode, frame, pending);
    if (nameNode.type === 'subscript') {
      // `a[$(cmd)]=x` runs the substitution; the subscript is then evaluated as arithmetic
      this.expression(nameNode, frame, segment);
      const hidden = this.hiddenCommands(nameNode, frame);
      if (hidden.length > 0)
        this.evaluatedCommands(
          hidden,
          nameNode.text,
          this.nodeSpan(frame, nameNode),
          frame,
          segment,
          'an array subscript',
        );
    }
    const produced = this.runSubstitutions(pending, segment);
    const name =
      nameNode.type === 'subscript' ? (nameNode.childForFieldName('name')?.text ?? nameNode.text) : nameNode.text;
    value = this.attributed(name, value, frame, segment);
    this.noteValue(name, value, frame, segment);
    const a: Assignment = {
      name,
      value: value ? plainWord(value) : null,
      span: this.nodeSpan(frame, node),
      segment,
      exported,
    };
    this.assignments.push(a);
    // the variable now holds what the substitutions printed, or what variables it copies held
    const sources = [...produced];
    if (value) for (const m of value.text.matchAll(VARIABLE_REF)) sources.push(...(this.variables.get(m[1]!) ?? []));
    if (sources.length > 0) this.variables.set(name, [...new Set([...(this.variables.get(name) ?? []), ...sources])]);
    return a;
  }

  /** An assignment written as one word (`env A=1 cmd`, or one tree-sitter did not recognize). */
  private wordAssignment(w: WordEx, frame: Frame, segment: number | null, exported: boolean): Assignment {
    const eq = w.text.indexOf('=');
    const name = w.text.slice(0, eq).replace(/\+$/, '').replace(/\[.*$/s, '');
    const value = this.attributed(
      name,
      { ...w, text: w.text.slice(eq + 1), exact: w.exact === null ? null : w.exact + eq + 1 },
      frame,
      segment,
    )!;
    const a: Assignment = { name, value: plainWord(value), span: w.span, segment, exported };
    this.assignments.push(a);
    this.noteValue(name, value, frame, segment);
    return a;
  }

  /**
   * The value of `NAME=value` as bash assigns it: everything after the `=` (tree-sitter may leave
   * escaped characters out of its value node: `x=\ a` is " a"), neither brace- nor
   * pathname-expanded, with a tilde expanded at its start and after each `:`.
   */
  private assignmentValue(
    node: SyntaxNode,
    valueNode: SyntaxNode | null,
    frame: Frame,
    pending: PendingSubstitution[],
  ): WordEx | null {
    const children = node.children;
    const eq = children.findIndex((c) => !c.isNamed && (c.type === '=' || c.type === '+='));
    if (eq === -1) return valueNode ? { ...this.decode(valueNode, frame, pending), glob: false } : null;
    const nodes = [...children.slice(eq), ...this.takeTails(node)];
    if (nodes.length === 1 && node.endIndex === nodes[0]!.endIndex) {
      // `x=`: the empty string
      return {
        text: '',
        dynamic: false,
        glob: false,
        span: this.nodeSpan(frame, nodes[0]!),
        exact: null,
        substituted: false,
      };
    }
    const { atoms, span, substituted } = this.atomsOf(nodes, frame, pending);
    // escapes after the last value node are part of the value (`x=''\(`, `x=$''\$`)
    const last = nodes[nodes.length - 1]!;
    const end = Math.max(node.endIndex, last.endIndex);
    if (end > last.endIndex) atoms.push(...unquotedText(frame.text.slice(last.endIndex, end)));
    const escaped = /^(?:\\[^\n])+/.exec(frame.text.slice(end));
    if (escaped) atoms.push(...unquotedText(escaped[0]));
    const value = atoms.slice(nodes[0]!.text.length);
    const text = atomsText(value);
    const opaque = value.some((a) => a.k === 'o') || danglingExpansion(value);
    const tilde = hasTildeExpansion(value, true);
    const start = nodes[0]!.endIndex;
    const exact = opaque || tilde ? null : this.verbatimAt(frame, start, text.length);
    return {
      text,
      dynamic: opaque || tilde,
      glob: false,
      span,
      exact: exact !== null && frame.text.slice(start, start + text.length) === text ? exact : null,
      substituted,
    };
  }

  /**
   * What a value assigned to a variable means beyond the assignment: a command line some
   * program runs (`PAGER=`, `GIT_SSH_COMMAND=`), a prompt string whose substitutions run when it
   * is shown (`PS4` under `set -x`), and the static value `${x@P}` may evaluate later.
   */
  private noteValue(name: string, value: WordEx | null, frame: Frame, owner: number | null): void {
    if (value && !value.dynamic) this.values.set(name, value.text);
    else this.values.delete(name);
    if (!value) return;
    // `x='a[$(id)]'`: wherever bash evaluates x as arithmetic ((( x )), [[ x -eq 0 ]], ${!x},
    // declare -i) the subscript runs: the command is treated as run
    if (!value.dynamic && SUBSCRIPT_COMMAND.test(value.text))
      this.evaluatedText(
        value.text,
        value.span,
        frame,
        owner,
        `the value of ${name} (an array subscript, run when the value is evaluated)`,
      );
    if (COMMAND_VARIABLES.has(name)) this.commandString(value, frame, owner, 'shell', 'variable');
    else if (PROMPT_VARIABLES.has(name)) {
      for (const command of embeddedCommands(value.text))
        this.parseText(command, { ...this.textFrame(frame, value.span, 'variable', owner ?? 0), parent: owner });
    }
  }

  /**
   * `declare`, `local`, `export`, `readonly`, `typeset`, `unset`: a segment whose words are the
   * arguments; `NAME=value` arguments (quoted or not) are assignments, and names with a
   * subscript are evaluated as arithmetic.
   */
  private declaration(node: SyntaxNode, frame: Frame): number[] {
    const keyword = node.child(0);
    if (!keyword) return [];
    const pending: PendingSubstitution[] = [];
    const name: WordEx = {
      text: keyword.text,
      dynamic: false,
      glob: false,
      span: this.nodeSpan(frame, keyword),
      exact: this.verbatimAt(frame, keyword.startIndex, keyword.text.length),
      substituted: false,
    };
    const children = node.namedChildren;
    const exported = keyword.text === 'export' || children.some((c) => /^-[a-zA-Z]*x/.test(c.text));
    const id = this.newSegment([name], frame, this.nodeSpan(frame, node), [], [], null);
    const seg = this.segments[id]!;
    const assignable = keyword.text !== 'unset';
    // one word may be several nodes: those touching an assignment are the rest of its value
    // (`declare x=f]\(`), as in command()
    const runs: SyntaxNode[][] = [];
    for (const c of children) {
      const run = runs[runs.length - 1];
      if (run && c.type !== 'comment' && sameWord(run[run.length - 1]!, c, frame.text)) run.push(c);
      else runs.push([c]);
    }
    if (assignable) {
      const declared = children.map((c) =>
        (c.type === 'variable_assignment'
          ? (c.childForFieldName('name')?.text ?? '')
          : (/^[A-Za-z_][A-Za-z0-9_]*/.exec(c.text)?.[0] ?? '')
        ).replace(/\[.*$/s, ''),
      );
      this.declareAttributes(
        children.map((c) => c.text),
        declared.filter((n) => n !== ''),
      );
    }
    for (const run of runs) {
      const c = run[0]!;
      // `declare x={a,b}` is `declare x=a x=b`: brace expansion happens before declare sees its words
      const braces = run.some((n) => /(?:^|[^$])\{/.test(n.text));
      if (c.type === 'variable_assignment' && assignable && !braces) {
        if (run.length > 1) this.tails.set(c.id, run.slice(1));
        const a = this.assignment(c, frame, id, exported);
        const nameText = c.childForFieldName('name')?.text ?? '';
        const op = c.text.slice(nameText.length).startsWith('+=') ? '+=' : '=';
        const v = a?.value;
        seg.argv.push({
          text: `${nameText}${op}${v?.text ?? ''}`,
          dynamic: v?.dynamic ?? false,
          glob: false,
          span: this.nodeSpan(frame, c),
          exact: null,
          substituted: false,
        });
        if (a) seg.assignments.push(a);
        continue;
      }
      for (const w of this.words(run, frame, pending)) {
        seg.argv.push(w);
        if (/^[-+]/.test(w.text)) continue;
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[\s\S]*\])?(\+?=)?/.exec(w.text);
        if (!m) continue;
        // a run-time value after a literal `NAME=` (`export x={1..3}$x`) is a dynamic assignment
        if (w.dynamic && !m[3]) continue;
        if (m[2])
          this.evaluatedName(seg, seg.argv.length - 1, w.text.slice(0, m[1]!.length + m[2].length), keyword.text);
        if (!m[3] || !assignable) continue;
        // `declare "PATH=./bin"`: an assignment written as a quoted word
        const eq = m[0].length;
        const value = this.attributed(
          m[1]!,
          { ...w, text: w.text.slice(eq), exact: w.exact === null ? null : w.exact + eq },
          frame,
          id,
        )!;
        const a: Assignment = { name: m[1]!, value: plainWord(value), span: w.span, segment: id, exported };
        this.assignments.push(a);
        seg.assignments.push(a);
        this.noteValue(a.name, value, frame, id);
      }
    }
    this.runSubstitutions(pending, id);
    this.variableFlows(seg.argv, id);
    return [id];
  }

  private functionDefinition(node: SyntaxNode, frame: Frame): number[] {
    const name = node.childForFieldName('name')?.text ?? '?';
    this.issue(
      'function-definition',
      `defines a shell function "${escapeForDisplay(name)}": its body runs whenever it is called`,
      this.nodeSpan(frame, node),
    );
    const body = node.childForFieldName('body');
    const ids = body ? this.statement(body, frame) : [];
    const pending: PendingSubstitution[] = [];
    for (const r of node.childrenForFieldName('redirect')) {
      const { redirect } = this.redirect(r, frame, ids, [], pending);
      if (redirect) this.attachRedirect(redirect, ids);
    }
    this.runSubstitutions(pending, null);
    this.functions.push({ name, span: this.nodeSpan(frame, node), segments: ids });
    return ids;
  }

  // ---------------------------------------------------------------------------------------------
  // builtins that evaluate text as arithmetic or code

  /**
   * Text that bash evaluates at run time although it was quoted (an array subscript, an
   * arithmetic operand, a prompt string): command substitutions in it run. Each becomes nested
   * segments and an `evaluated-code` issue. Returns whether there were any.
   */
  private evaluatedText(text: string, span: Span, frame: Frame, owner: number | null, what: string): boolean {
    const commands = embeddedCommands(text);
    if (commands.length === 0) return false;
    this.evaluatedCommands(commands, text, span, frame, owner, what);
    return true;
  }

  private evaluatedCommands(
    commands: readonly string[],
    text: string,
    span: Span,
    frame: Frame,
    owner: number | null,
    what: string,
  ): void {
    this.issue(
      'evaluated-code',
      `${what} evaluates ${JSON.stringify(escapeForDisplay(text.slice(0, 60)))} at run time, running the command in it`,
      span,
    );
    for (const command of commands) {
      const ids = this.parseText(command, {
        ...this.textFrame(frame, span, 'substitution', owner ?? 0),
        parent: owner ?? frame.parent,
        depth: frame.depth,
      });
      if (owner !== null) for (const id of ids) this.flow(id, owner, 'substitution');
    }
  }

  private markDynamic(seg: SegmentDraft, index: number): void {
    const w = seg.argv[index];
    if (w && !w.dynamic) seg.argv[index] = { ...w, dynamic: true, exact: null };
  }

  /**
   * A variable name a builtin assigns or tests (`printf -v NAME`, `read NAME`, `test -v NAME`):
   * a subscript other than a literal index is arithmetic evaluated at run time.
   */
  private evaluatedName(seg: SegmentDraft, index: number, name: string, builtin: string): void {
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\[([\s\S]*)\])?$/.exec(name);
    const subscript = m ? m[1] : name;
    if (subscript === undefined || /^\s*\d+\s*$/.test(subscript)) return;
    this.markDynamic(seg, index);
    this.evaluatedText(
      subscript,
      seg.argv[index]!.span,
      this.frames.get(seg.id)!,
      seg.id,
      `${builtin} (an array subscript)`,
    );
  }

  /**
   * An expansion that evaluates text: `$(( … ))` runs substitutions tree-sitter took for quoted
   * text; `${x@P}` prompt-expands the value of x, running the substitutions in it.
   */
  private evaluatedExpansion(node: SyntaxNode, frame: Frame, pending: PendingSubstitution[]): void {
    const span = this.nodeSpan(frame, node);
    if (node.type === 'arithmetic_expansion') {
      for (const text of this.hiddenCommands(node, frame))
        pending.push({ text, span, frame, evaluated: 'an arithmetic expansion' });
      return;
    }
    // `${a['$(id)']}`: the subscript of an indexed array is arithmetic, quotes and all
    const subscript = /^\$\{[#!]?[A-Za-z_][A-Za-z0-9_]*\[([^\]]*)\]/.exec(node.text)?.[1];
    if (subscript !== undefined) {
      if (/['"]/.test(subscript))
        for (const text of embeddedCommands(subscript))
          pending.push({ text, span, frame, evaluated: `the subscript of ${node.text}` });
      return;
    }
    const name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(node.text)?.[1];
    const value = name === undefined ? undefined : this.values.get(name);
    const commands = value === undefined ? [] : embeddedCommands(value);
    if (commands.length === 0) {
      this.issue(
        'evaluated-code',
        `${escapeForDisplay(node.text)} expands a value as a prompt string, running the command substitutions in it`,
        span,
      );
      return;
    }
    for (const text of commands) pending.push({ text, span, frame, evaluated: `the prompt expansion ${node.text}` });
  }

  /**
   * Substitutions in an arithmetic expression that tree-sitter did not parse as such: bash
   * expands `$(…)` there even inside quotes (`$(( '$(id)' ))`), tree-sitter reads a string.
   */
  private hiddenCommands(node: SyntaxNode, frame: Frame): string[] {
    let text = node.text;
    // the substitutions tree-sitter did parse are read as such: blanked here
    const cut = walkTree(node.namedChildren, (c) => {
      if (c.type !== 'command_substitution' && c.type !== 'process_substitution') return c.namedChildren;
      const from = c.startIndex - node.startIndex;
      text = text.slice(0, from) + ' '.repeat(c.endIndex - c.startIndex) + text.slice(c.endIndex - node.startIndex);
      return [];
    });
    if (cut) this.tooDeep(this.nodeSpan(frame, cut));
    return embeddedCommands(text);
  }

  /** An operand bash evaluates as an arithmetic expression: static only over constants. */
  private evaluatedArith(seg: SegmentDraft, index: number, builtin: string): void {
    const w = seg.argv[index];
    if (!w || w.dynamic || constantArithmetic(w.text)) return;
    this.markDynamic(seg, index);
    this.evaluatedText(w.text, w.span, this.frames.get(seg.id)!, seg.id, `${builtin} (arithmetic)`);
  }

  /** A variable a builtin assigns from data only known at run time (`read NAME`, `printf -v NAME`). */
  private runtimeAssignment(seg: SegmentDraft, index: number, builtin: string): void {
    const w = seg.argv[index];
    if (!w) return;
    this.evaluatedName(seg, index, w.text, builtin);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(w.text)?.[0];
    if (!name) return;
    const a: Assignment = {
      name,
      value: { text: `<${builtin}>`, dynamic: true, glob: false, span: w.span },
      span: w.span,
      segment: seg.id,
      exported: false,
    };
    seg.assignments.push(a);
    this.assignments.push(a);
    this.values.delete(name);
  }

  /**
   * Builtins whose arguments are names or arithmetic: what they evaluate and assign. Option
   * grammars follow bash's own (`help read`, `help printf`, …).
   */
  private builtinArguments(seg: SegmentDraft): void {
    const argv = seg.argv;
    const program = seg.program;
    const operands = (valueOptions: string): number[] => {
      // indexes of the operands after options (a bundle's last letter may take the next word)
      const out: number[] = [];
      let options = true;
      for (let i = 1; i < argv.length; i++) {
        const t = argv[i]!.text;
        if (options && t === '--') {
          options = false;
          continue;
        }
        if (options && /^-[A-Za-z]/.test(t) && !argv[i]!.dynamic) {
          const letters = t.slice(1);
          for (let k = 0; k < letters.length; k++) {
            if (valueOptions.includes(letters[k]!)) {
              if (k === letters.length - 1) i++;
              break;
            }
          }
          continue;
        }
        options = false;
        out.push(i);
      }
      return out;
    };
    const optionValue = (letter: string): number | null => {
      for (let i = 1; i < argv.length; i++) {
        const t = argv[i]!.text;
        if (t === '--' || !t.startsWith('-')) return null;
        if (t === `-${letter}`) return i + 1 < argv.length ? i + 1 : null;
      }
      return null;
    };
    switch (program) {
      case 'test':
      case '[':
      case '[[': {
        for (let i = 1; i < argv.length; i++) {
          const t = argv[i]!.text;
          if (t === '-v' && argv[i + 1] && !argv[i + 1]!.dynamic)
            this.evaluatedName(seg, i + 1, argv[i + 1]!.text, program);
          if (program === '[[' && ARITHMETIC_TESTS.has(t)) {
            this.evaluatedArith(seg, i - 1, program);
            this.evaluatedArith(seg, i + 1, program);
          }
        }
        return;
      }
      case 'printf': {
        const v = optionValue('v');
        if (v !== null) this.runtimeAssignment(seg, v, 'printf -v');
        return;
      }
      case 'read':
        for (const i of operands('adinNptu')) this.runtimeAssignment(seg, i, 'read');
        if (argv.some((w) => /^-[A-Za-z]*a$/.test(w.text))) {
          const a = optionValue('a');
          if (a !== null) this.runtimeAssignment(seg, a, 'read -a');
        }
        return;
      case 'mapfile':
      case 'readarray': {
        const names = operands('dnOsuCc');
        if (names.length > 0) this.runtimeAssignment(seg, names[names.length - 1]!, program);
        return;
      }
      case 'getopts': {
        const names = operands('');
        if (names.length >= 2) this.runtimeAssignment(seg, names[1]!, 'getopts');
        return;
      }
      case 'let':
        for (let i = 1; i < argv.length; i++) this.evaluatedArith(seg, i, 'let');
        return;
      case 'wait': {
        const p = optionValue('p');
        if (p !== null) this.runtimeAssignment(seg, p, 'wait -p');
        return;
      }
      default:
        return;
    }
  }

  /** `(( expr ))`: a segment `((` whose expression is dynamic unless it is a literal number. */
  private arithmeticCommand(node: SyntaxNode, frame: Frame): number[] {
    const open = node.child(0)!;
    const close = node.child(node.childCount - 1)!;
    const from = open.endIndex;
    const to = close.type === '))' ? close.startIndex : node.endIndex;
    return this.arithmeticSegment(node, node.text.slice(from - node.startIndex, to - node.startIndex), frame, [
      from,
      to,
    ]);
  }

  private arithmeticSegment(node: SyntaxNode, expression: string, frame: Frame, range: [number, number]): number[] {
    const span = this.nodeSpan(frame, node);
    const exprSpan = this.span(frame, range[0], range[1]);
    const word = (text: string, at: Span): WordEx => ({
      text,
      dynamic: false,
      glob: false,
      span: at,
      exact: null,
      substituted: false,
    });
    const expr: WordEx = { ...word(expression.trim(), exprSpan), dynamic: !constantArithmetic(expression) };
    const id = this.newSegment([word('((', span), expr, word('))', span)], frame, span, [], [], '((');
    this.expression(node, frame, id);
    const hidden = this.hiddenCommands(node, frame);
    if (hidden.length > 0) this.evaluatedCommands(hidden, expression, exprSpan, frame, id, '(( )) (arithmetic)');
    return [id];
  }

  /**
   * `[ … ]` is the builtin `[` with the words as its arguments; `[[ … ]]` is a segment `[[` whose
   * words are neither split nor globbed. Tree-sitter parses both as expressions: the words are
   * its leaves, and every byte between them must be blank, or the construct is not understood.
   */
  private testCommand(node: SyntaxNode, frame: Frame): number[] {
    const open = node.child(0);
    const close = node.child(node.childCount - 1);
    const double = open?.type === '[[';
    const units: SyntaxNode[] = [];
    const cut = walkTree(node.children, (c) => {
      if (c === open || c === close) return [];
      if (c.isNamed && !WORD_NODES.has(c.type)) return c.children;
      units.push(c);
      return [];
    });
    if (cut) this.tooDeep(this.nodeSpan(frame, cut));
    units.sort((a, b) => a.startIndex - b.startIndex);
    let cursor = open ? open.endIndex : node.startIndex;
    for (const u of [...units, ...(close ? [close] : [])]) {
      const gap = node.text.slice(cursor - node.startIndex, u.startIndex - node.startIndex);
      if (!/^\s*$/.test(gap)) {
        this.issue(
          'unknown-construct',
          `a test expression the parser did not read word by word: ${JSON.stringify(escapeForDisplay(gap.slice(0, 30)))}`,
          this.nodeSpan(frame, node),
        );
        break;
      }
      cursor = Math.max(cursor, u.endIndex);
    }
    const pending: PendingSubstitution[] = [];
    const runs: SyntaxNode[][] = [];
    for (const u of units) {
      const last = runs[runs.length - 1];
      if (last && last[last.length - 1]!.endIndex === u.startIndex) last.push(u);
      else runs.push([u]);
    }
    const word = (n: SyntaxNode | null | undefined, text: string): WordEx => ({
      text,
      dynamic: false,
      glob: false,
      span: n ? this.nodeSpan(frame, n) : this.nodeSpan(frame, node),
      exact: null,
      substituted: false,
    });
    const span = this.nodeSpan(frame, node);
    if (!double) {
      const words = [
        word(open, '['),
        ...runs.flatMap((r) => this.expandRun(r, frame, pending, { assigning: false })),
        word(close, ']'),
      ];
      return this.buildSegment(words, frame, span, [], [], pending);
    }
    // inside [[ ]] there is no word splitting or pathname expansion (the right side of == is a pattern)
    const words = [
      word(open, '[['),
      ...runs.map((r) => ({ ...this.decodeRun(r, frame, pending), glob: false })),
      word(close, ']]'),
    ];
    const id = this.newSegment(words, frame, span, [], [], '[[');
    this.runSubstitutions(pending, id);
    this.variableFlows(words, id);
    this.builtinArguments(this.segments[id]!);
    return [id];
  }

  /** `for NAME in …` and `select NAME in …` assign NAME for the body, like an assignment. */
  /**
   * `for NAME in WORDS` assigns NAME each word in turn (one assignment per word, as expanded;
   * a glob or run-time word is dynamic); with no list, the positional parameters.
   */
  private forStatement(node: SyntaxNode, frame: Frame): number[] {
    const variable = node.childForFieldName('variable');
    if (variable) {
      const values = node.childrenForFieldName('value');
      const span = this.nodeSpan(frame, variable);
      // the list's substitutions run with the loop (compound); here only the words are read
      const words = values.length > 0 ? this.words(values, frame, []) : [];
      if (words.length === 0)
        this.assignments.push({
          name: variable.text,
          value: { text: '"$@"', dynamic: true, glob: false, span },
          span,
          segment: null,
          exported: false,
        });
      for (const w of words) {
        this.assignments.push({
          name: variable.text,
          value: { text: w.text, dynamic: w.dynamic || w.glob, glob: false, span: w.span },
          span,
          segment: null,
          exported: false,
        });
        if (!w.dynamic && SUBSCRIPT_COMMAND.test(w.text))
          this.evaluatedText(
            w.text,
            w.span,
            frame,
            null,
            `the value of ${variable.text} (an array subscript, run when the value is evaluated)`,
          );
      }
      this.values.delete(variable.text);
    }
    return this.compound(node, frame);
  }

  /** `for (( init; test; step ))`: each part is an arithmetic command. */
  private cStyleFor(node: SyntaxNode, frame: Frame): number[] {
    const ids: number[] = [];
    for (const c of node.namedChildren) {
      if (c.type === 'do_group' || c.type === 'compound_statement') ids.push(...this.statement(c, frame));
      else if (c.type !== 'comment') ids.push(...this.arithmeticSegment(c, c.text, frame, [c.startIndex, c.endIndex]));
    }
    return ids;
  }

  // ---------------------------------------------------------------------------------------------
  // redirects

  /**
   * Decode one redirect. Substitutions inside it are appended to `pending` for the caller to
   * run once the owning segment exists; stray destinations go to `extraArgs`.
   */
  private redirect(
    node: SyntaxNode,
    frame: Frame,
    owners: readonly number[],
    extraArgs: SyntaxNode[],
    pending: PendingSubstitution[],
    nextRedirect?: SyntaxNode,
  ): { redirect: Redirect | null; fdForNext: number | null } {
    let op: RedirectOp | null = null;
    let fd: number | null = null;
    let target: WordEx | null = null;
    let text: WordEx | undefined;
    let fdForNext: number | null = null;
    const span = this.nodeSpan(frame, node);

    const heredoc = heredocOf(node, frame);
    if (heredoc) {
      op = heredoc.stripTabs ? '<<-' : '<<';
      const d = node.childForFieldName('descriptor');
      if (d) fd = Number(d.text);
      text = this.heredocText(heredoc, frame, pending);
    } else if (node.type === 'file_redirect') {
      const destinations = [...node.childrenForFieldName('destination'), ...this.takeTails(node)];
      for (const c of node.children) {
        if (c.type === 'file_descriptor') fd = Number(c.text);
        else if (!c.isNamed && isRedirectOp(c.type)) op = op === '<' && c.type === '>' ? '<>' : (c.type as RedirectOp);
        else if (c.type === 'ERROR' && c.text.trim() === '>' && op === '<') {
          // tree-sitter-bash reads `3<>file` as `<`, ERROR(`>`), file
          op = '<>';
          this.tolerated.add(c.id);
        }
      }
      // the target is one word, perhaps several nodes (`< {\,{1..3},}a`); what follows it is not
      let firstRun = 0;
      while (
        firstRun + 1 < destinations.length &&
        sameWord(destinations[firstRun]!, destinations[firstRun + 1]!, frame.text)
      )
        firstRun++;
      if (destinations.length > 0) target = this.decodeRun(destinations.slice(0, firstRun + 1), frame, pending);
      for (const extra of destinations.slice(firstRun + 1)) {
        // `cmd >& file 0>&1` arrives with `0` as a second destination: it is the next redirect's fd
        if (extra.type === 'number' && nextRedirect && extra.endIndex === nextRedirect.startIndex)
          fdForNext = Number(extra.text);
        else extraArgs.push(extra);
      }
    } else if (node.type === 'herestring_redirect') {
      op = '<<<';
      const d = node.childForFieldName('descriptor');
      if (d) fd = Number(d.text);
      const value = [...node.namedChildren.filter((c) => c.type !== 'file_descriptor'), ...this.takeTails(node)];
      if (value.length > 0) text = this.decodeRun(value, frame, pending);
    }
    if (op === null) {
      this.issue('unknown-construct', `unsupported redirect "${escapeForDisplay(node.text.slice(0, 20))}"`, span);
      return { redirect: null, fdForNext };
    }
    const redirect: Redirect = {
      op,
      fd,
      target: target ? plainWord(target) : null,
      segments: [...owners],
      span,
      ...(text ? { text: plainWord(text) } : {}),
    };
    if (text) this.redirectTexts.set(redirect, text);
    return { redirect, fdForNext };
  }

  private readonly redirectTexts = new Map<Redirect, WordEx>();

  /**
   * The text a here-document feeds, as bash read it (reader.ts): literal when its delimiter was
   * quoted; else with `\$`, `` \` ``, `\\` unescaped and its substitutions run, dynamic
   * where they make it so.
   */
  private heredocText(known: Heredoc, frame: Frame, pending: PendingSubstitution[]): WordEx {
    const span = this.span(frame, known.bodyStart, known.bodyEnd);
    const raw = known.body;
    if (known.quoted) {
      return {
        text: raw,
        dynamic: false,
        glob: false,
        span,
        exact: this.verbatimAt(frame, known.bodyStart, raw.length),
        substituted: false,
      };
    }
    const decoded = decodeHeredocBody(raw);
    for (const sub of decoded.substitutions) {
      pending.push({
        text: sub.command,
        span: this.span(frame, known.bodyStart + sub.start, known.bodyStart + sub.end),
        frame,
      });
    }
    const exact = decoded.dynamic || decoded.text !== raw ? null : this.verbatimAt(frame, known.bodyStart, raw.length);
    return {
      text: decoded.text,
      dynamic: decoded.dynamic,
      glob: false,
      span,
      exact,
      substituted: decoded.substitutions.length > 0,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // commands

  /**
   * A simple command: `node` is a command, or assignments standing alone (`children` are then
   * the assignment nodes, which tree-sitter may have misread: see below).
   */
  private command(
    node: SyntaxNode,
    frame: Frame,
    outerRedirects: SyntaxNode[],
    extra: SyntaxNode[],
    list?: readonly SyntaxNode[],
  ): number[] {
    const pending: PendingSubstitution[] = [];
    const prefix: SyntaxNode[] = [];
    let nameNode: SyntaxNode | null = null;
    const argNodes: SyntaxNode[] = [];
    const redirectNodes: SyntaxNode[] = [];
    const children = list ?? node.children;
    // a node touching a prefix assignment is the rest of its value (`x={,$x,}a cmd`, `x=$(a)\= cmd`,
    // `z={a,}\nx=1`): tree-sitter ends the assignment early and reads the rest as the command
    let assigning: { node: SyntaxNode; end: number } | null = null;
    // `--opt=v` or `\nx=1` is no assignment (not a name): it and all after it are words
    let pastPrefix = false;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      const field = list ? null : node.fieldNameForChild(i);
      if (
        assigning &&
        c.type !== 'comment' &&
        !c.type.endsWith('_redirect') &&
        sameWord({ endIndex: assigning.end } as SyntaxNode, c, frame.text)
      ) {
        const tail = this.tails.get(assigning.node.id) ?? [];
        tail.push(...(c.type === 'command_name' && c.children.length > 0 ? c.children : [c]));
        this.tails.set(assigning.node.id, tail);
        assigning.end = c.endIndex;
        continue;
      }
      if (c.type === 'variable_assignment' && (pastPrefix || !assignmentName(c))) {
        pastPrefix = true;
        assigning = null;
        argNodes.push(c);
        continue;
      }
      assigning = c.type === 'variable_assignment' ? { node: c, end: c.endIndex } : null;
      if (field === 'name') nameNode = c;
      else if (field === 'argument') argNodes.push(c);
      else if (field === 'redirect' || c.type.endsWith('_redirect')) redirectNodes.push(c);
      else if (c.type === 'variable_assignment') prefix.push(c);
      else if (c.type === 'subshell') argNodes.push(c);
      else if (c.type === 'comment') continue;
      else if (c.isNamed && c.type !== 'command_name') argNodes.push(c);
    }
    const allRedirects = [...redirectNodes, ...outerRedirects];
    // nodes touching a redirect are the rest of its word (`<<< \`a\`\<`): tree-sitter ends it early
    for (const r of allRedirects) {
      const tail: SyntaxNode[] = [];
      for (let end: SyntaxNode = r, k = 0; k !== -1;) {
        k = argNodes.findIndex((a) => a.startIndex >= end.endIndex && sameWord(end, a, frame.text));
        if (k !== -1) {
          end = argNodes[k]!;
          tail.push(...argNodes.splice(k, 1));
        }
      }
      if (tail.length > 0) this.tails.set(r.id, tail);
    }
    // tree-sitter-bash reads the `0` of `sh 0<&2` as an argument: it is the redirect's descriptor
    const fdOverride = new Map<SyntaxNode, number>();
    for (const r of allRedirects) {
      const k = argNodes.findIndex(
        (a) =>
          a.endIndex === r.startIndex && /^\d+$/.test(a.text) && !r.children.some((c) => c.type === 'file_descriptor'),
      );
      if (k !== -1) {
        fdOverride.set(r, Number(argNodes[k]!.text));
        argNodes.splice(k, 1);
      }
    }
    // decode redirects first: their stray destinations are arguments (`echo a > b c`)
    const extraArgs: SyntaxNode[] = [...extra];
    const resolved: { redirect: Redirect | null }[] = [];
    let fdCarry: number | null = null;
    const placeholderOwners: number[] = [];
    for (let i = 0; i < allRedirects.length; i++) {
      const r = allRedirects[i]!;
      const res = this.redirect(r, frame, placeholderOwners, extraArgs, pending, allRedirects[i + 1]);
      const fd = fdOverride.get(r) ?? fdCarry;
      if (res.redirect && fd !== null && res.redirect.fd === null) {
        const fixed = { ...res.redirect, fd };
        const t = this.redirectTexts.get(res.redirect);
        if (t) this.redirectTexts.set(fixed, t);
        res.redirect = fixed;
      }
      fdCarry = res.fdForNext;
      resolved.push(res);
    }
    this.checkCoverage(node, frame, false);
    const nameNodes = nameNode ? (nameNode.children.length > 0 ? nameNode.children : [nameNode]) : [];
    let words = this.words(
      [...nameNodes, ...argNodes, ...extraArgs].sort((a, b) => a.startIndex - b.startIndex),
      frame,
      pending,
      true,
    );
    // unquoted `NAME=value` before the command name is an assignment to bash, whatever tree-sitter read
    let lead = 0;
    while (lead < words.length && words[lead]!.assignment) lead++;
    const assigned = words.slice(0, lead);
    words = words.slice(lead);
    const span = this.nodeSpan(frame, node);
    const redirects = resolved.map((r) => r.redirect).filter((r): r is Redirect => r !== null);
    if (words.length === 0) {
      // only redirects and assignments (`> file`, `FOO=1 <in`): no program runs
      for (const a of prefix) this.assignment(a, frame, null, false);
      for (const w of assigned) this.wordAssignment(w, frame, null, false);
      for (const r of redirects) this.redirects.push(r);
      this.runSubstitutions(pending, frame.parent);
      return [];
    }
    return this.buildSegment(words, frame, span, prefix, redirects, pending, assigned);
  }

  /**
   * One segment from decoded words: wrappers unwrapped, then whatever the program runs in turn
   * (a shell's -c string, eval's text, ssh's remote command, find -exec, an interpreter's code,
   * options that carry commands) parsed into nested segments. Returns the segment first, then
   * the nested segments that share its standard input and output.
   */
  private buildSegment(
    words: WordEx[],
    frame: Frame,
    span: Span,
    prefixNodes: SyntaxNode[],
    redirects: Redirect[],
    pending: PendingSubstitution[],
    prefixWords: WordEx[] = [],
  ): number[] {
    let argv = words;
    const wrappers: WrapperUse[] = [];
    const envWords: WordEx[] = [];
    let privileged = frame.privileged;
    let shellString: { word: WordEx; via: Via } | null = null;
    let joinedShellString: WordEx[] | null = null;
    for (let n = 0; ; n++) {
      if (n >= PARSE_LIMITS.maxWrappers) {
        this.issue('too-deep', `more than ${PARSE_LIMITS.maxWrappers} nested wrappers`, span);
        break;
      }
      const head = argv[0];
      if (!head || head.dynamic || head.glob) break;
      const name = basename(head.text);
      const spec = WRAPPERS[name];
      if (!spec) break;
      const u = unwrap(argv, spec);
      if (spec.privileged) privileged = true;
      envWords.push(...u.assignments);
      if (u.commandString) {
        // `su -c STRING` hands the string to the user's shell, as `sh -c` does; other tools
        // run a command given in an option (`flock -c`, `script -c`)
        shellString = { word: u.commandString, via: spec.privileged ? 'shell-c' : 'command-string' };
        break;
      }
      if (spec.runsShellString && u.inner.length > 0 && !u.execForm) {
        joinedShellString = u.inner;
        break;
      }
      if (u.noCommand || u.inner.length === 0) break;
      const own = argv.slice(0, Math.max(1, u.consumed));
      wrappers.push({ name, argv: own.map((w) => w.text), span: joinSpan(head.span, own[own.length - 1]!.span) });
      argv = u.inner;
    }

    const head = argv[0]!;
    // `~/bin/tool` is the program `tool` in a directory only known at run time
    const dynamicName = (head.dynamic && !head.tilde) || head.glob;
    // a reserved word is syntax to bash, never a command's name: tree-sitter misread the statement
    if (!head.dynamic && RESERVED_WORDS.has(head.text) && frame.via !== 'find-exec' && frame.via !== 'container') {
      this.issue(
        'parse-error',
        `the parser read the reserved word ${JSON.stringify(head.text)} as a command`,
        head.span,
      );
    }
    const program = dynamicName ? null : basename(head.text);
    const id = this.newSegment(argv, frame, span, wrappers, redirects, program, privileged);
    for (const r of redirects) {
      (r.segments as number[]).push(id);
      this.redirects.push(r);
    }
    const seg = this.segments[id]!;
    for (const a of prefixNodes) {
      const assigned = this.assignment(a, frame, id, false);
      if (assigned) seg.assignments.push(assigned);
    }
    for (const w of prefixWords) seg.assignments.push(this.wordAssignment(w, frame, id, false));
    for (const w of envWords) seg.assignments.push(this.wordAssignment(w, frame, id, true));
    this.runSubstitutions(pending, id);
    this.variableFlows(words, id);
    if (program !== null) this.builtinArguments(seg);
    if (dynamicName) {
      this.issue(
        'dynamic-command',
        `the command name ${JSON.stringify(escapeForDisplay(head.text))} is only known at run time`,
        head.span,
      );
    }

    const shared: number[] = [];
    const inner = { ...frame, privileged };
    if (shellString) shared.push(...this.shellPayload(shellString.word, inner, id, shellString.via));
    if (joinedShellString)
      shared.push(
        ...this.joinedPayload(joinedShellString, inner, id, program === 'watch' ? 'watch' : 'command-string'),
      );
    if (program !== null && !shellString && !joinedShellString) shared.push(...this.programPayloads(seg, inner));
    // a here-document or here-string feeds the program's standard input
    for (const r of redirects) {
      const text = this.redirectTexts.get(r);
      if (text && (r.fd === null || r.fd === 0)) shared.push(...this.feedStdin(seg, text, inner));
    }
    return [id, ...shared];
  }

  private newSegment(
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

  // ---------------------------------------------------------------------------------------------
  // what programs run in turn

  private programPayloads(seg: SegmentDraft, frame: Frame): number[] {
    const program = seg.program!;
    const argv = seg.argv;
    const out: number[] = [];
    if (SHELLS.has(program)) {
      const inv = shellInvocation(argv);
      if (inv.command) out.push(...this.shellPayload(inv.command, frame, seg.id, 'shell-c'));
      else if (inv.readsStdin) seg.stdin = { kind: 'shell' };
    } else if (program === 'eval') {
      // eval, like every builtin, takes `--` as the end of its (no) options
      const args = argv[1] && !argv[1].dynamic && argv[1].text === '--' ? argv.slice(2) : argv.slice(1);
      if (args.length === 1) out.push(...this.shellPayload(args[0]!, frame, seg.id, 'eval'));
      else if (args.length > 1) out.push(...this.joinedPayload(args, frame, seg.id, 'eval'));
    } else if (program === 'ssh' || program === 'autossh') {
      const inv = sshInvocation(argv);
      if (inv.command.length > 0) {
        const extra = { remote: inv.host };
        out.push(
          ...(inv.command.length === 1
            ? this.shellPayload(inv.command[0]!, frame, seg.id, 'ssh', extra)
            : this.joinedPayload(inv.command, frame, seg.id, 'ssh', extra)),
        );
      }
    } else if (program === 'find') {
      out.push(...this.findExec(seg, frame));
    } else if (program === 'trap') {
      const action = argv.slice(1).find((w) => !w.text.startsWith('-'));
      if (action && action.text !== '' && action !== argv[argv.length - 1])
        out.push(...this.commandString(action, frame, seg.id, 'shell'));
    } else if (CONTAINER_RUNNERS.has(program)) {
      const cmd = containerCommand(program, argv);
      if (cmd.length > 0) {
        const span = joinSpan(cmd[0]!.span, cmd[cmd.length - 1]!.span);
        out.push(
          ...this.buildSegment(
            cmd,
            { ...this.child(frame, 'container', seg.id), remote: 'container' },
            span,
            [],
            [],
            [],
          ),
        );
      }
    } else if (program === 'parallel') {
      const cmd = parallelCommand(argv);
      if (cmd.length > 0) out.push(...this.joinedPayload(cmd, frame, seg.id, 'parallel'));
    } else if (program === 'alias') {
      this.issue('alias-definition', 'defines an alias: later commands may not be what they look like', seg.span);
      for (const w of argv.slice(1)) {
        const eq = w.text.indexOf('=');
        if (eq > 0)
          out.push(
            ...this.commandString(
              { ...w, text: w.text.slice(eq + 1), exact: w.exact === null ? null : w.exact + eq + 1 },
              frame,
              seg.id,
              'shell',
              'variable',
            ),
          );
      }
    }
    if (program === 'git') out.push(...this.gitCommands(seg, frame));
    const interpreter = INTERPRETERS[program];
    if (interpreter) out.push(...this.interpreterPayload(seg, frame, interpreter.language));
    const carrier = COMMAND_CARRIERS[program];
    if (carrier) {
      for (const { word, syntax } of carriedCommands(argv, carrier))
        out.push(...this.commandString(word, frame, seg.id, syntax));
    }
    return out;
  }

  private shellPayload(word: WordEx, frame: Frame, parent: number, via: Via, extra: Partial<Frame> = {}): number[] {
    if (word.substituted) {
      this.issue(
        'dynamic-payload',
        `runs code produced at run time: ${JSON.stringify(escapeForDisplay(word.text.slice(0, 60)))}`,
        word.span,
      );
      return [];
    }
    this.expandedCode([word]);
    return this.parseText(word.text, this.payloadFrame(frame, word, via, parent, extra));
  }

  private joinedPayload(words: WordEx[], frame: Frame, parent: number, via: Via, extra: Partial<Frame> = {}): number[] {
    if (words.some((w) => w.substituted)) {
      this.issue(
        'dynamic-payload',
        'runs code produced at run time',
        joinSpan(words[0]!.span, words[words.length - 1]!.span),
      );
      return [];
    }
    this.expandedCode(words);
    const text = words.map((w) => w.text).join(' ');
    return this.parseText(
      text,
      this.textFrame(frame, joinSpan(words[0]!.span, words[words.length - 1]!.span), via, parent, extra),
    );
  }

  /**
   * Code holding a variable or a glob is parsed by bash after expansion, so what the IR reads of
   * it (scored all the same) may not be what runs: `eval "ls # $x"` runs whatever follows a
   * newline in $x.
   */
  private expandedCode(words: readonly WordEx[]): void {
    const open = words.find((w) => w.dynamic || w.glob);
    if (!open) return;
    this.issue(
      'expanded-code',
      `runs code holding a run-time value, which bash parses only once it is expanded: ${JSON.stringify(escapeForDisplay(open.text.slice(0, 60)))}`,
      open.span,
    );
  }

  /**
   * A command line carried by an option (`via` command-string) or by a variable or alias
   * (`via` variable), in shell syntax or in another program's escape syntax.
   */
  private commandString(
    word: WordEx,
    frame: Frame,
    parent: number | null,
    syntax: EscapeSyntax,
    via: Via = 'command-string',
  ): number[] {
    const owner = parent ?? frame.parent;
    if (syntax === 'shell') {
      let w = word;
      // a leading `!` marks a shell alias or escape in git and hg configuration
      if (w.text.startsWith('!')) w = { ...w, text: w.text.slice(1), exact: w.exact === null ? null : w.exact + 1 };
      if (owner === null) return this.parseText(w.text, { ...this.payloadFrame(frame, w, via, 0), parent: null });
      return this.shellPayload(w, frame, owner, via);
    }
    const out: number[] = [];
    for (const line of extractEscapes(word.text, syntax)) {
      out.push(...this.parseText(line, { ...this.textFrame(frame, word.span, via, owner ?? 0), parent: owner }));
    }
    return out;
  }

  /**
   * Commands git subcommands run: `difftool -x CMD`, `rebase --exec CMD`, `filter-branch
   * --tree-filter CMD` and `submodule foreach CMD` hand a command line to the shell; `bisect run
   * CMD ARGS…` runs a program with its arguments.
   */
  private gitCommands(seg: SegmentDraft, frame: Frame): number[] {
    const args = seg.argv.slice(1);
    let i = 0;
    while (i < args.length && args[i]!.text.startsWith('-') && !args[i]!.dynamic)
      i += GIT_GLOBAL_VALUES.has(args[i]!.text) ? 2 : 1;
    const sub = args[i]?.text;
    const rest = args.slice(i + 1);
    const spec = sub === undefined ? undefined : GIT_SUBCOMMAND_CARRIERS[sub];
    if (spec) {
      const out: number[] = [];
      for (const { word, syntax } of carriedCommands([args[i]!, ...rest], spec))
        out.push(...this.commandString(word, frame, seg.id, syntax));
      return out;
    }
    // `submodule [options] foreach [--recursive] CMD…`, `bisect run CMD…`
    const verb = sub === 'submodule' ? 'foreach' : sub === 'bisect' ? 'run' : null;
    if (verb === null) return [];
    const at = rest.findIndex((w) => !w.text.startsWith('-'));
    if (at === -1 || rest[at]!.text !== verb) return [];
    let k = at + 1;
    while (k < rest.length && rest[k]!.text.startsWith('-') && !rest[k]!.dynamic) k++;
    const cmd = rest.slice(k);
    if (cmd.length === 0) return [];
    if (verb === 'foreach')
      return cmd.length === 1
        ? this.commandString(cmd[0]!, frame, seg.id, 'shell')
        : this.joinedPayload(cmd, frame, seg.id, 'command-string');
    return this.buildSegment(
      cmd,
      this.child(frame, 'command-string', seg.id),
      joinSpan(cmd[0]!.span, cmd[cmd.length - 1]!.span),
      [],
      [],
      [],
    );
  }

  private findExec(seg: SegmentDraft, frame: Frame): number[] {
    const out: number[] = [];
    const argv = seg.argv;
    for (let i = 1; i < argv.length; i++) {
      const t = argv[i]!.text;
      if (t !== '-exec' && t !== '-execdir' && t !== '-ok' && t !== '-okdir') continue;
      let j = i + 1;
      while (j < argv.length && argv[j]!.text !== ';' && argv[j]!.text !== '+') j++;
      const cmd = argv.slice(i + 1, j);
      if (cmd.length > 0) {
        const span = joinSpan(cmd[0]!.span, cmd[cmd.length - 1]!.span);
        out.push(...this.buildSegment(cmd, this.child(frame, 'find-exec', seg.id), span, [], [], []));
      }
      i = j;
    }
    return out;
  }

  private interpreterPayload(seg: SegmentDraft, frame: Frame, language: string): number[] {
    const spec = INTERPRETERS[seg.program!]!;
    const code = interpreterCode(seg.argv, spec);
    if (code === 'stdin') {
      seg.stdin = { kind: 'interpreter', language };
      return [];
    }
    if (!code) return [];
    return this.setPayload(seg, frame, language, code);
  }

  private setPayload(seg: SegmentDraft, frame: Frame, language: string, code: WordEx): number[] {
    seg.payload = {
      language,
      text: code.text,
      dynamic: code.dynamic,
      capabilities: scanCapabilities(code.text),
      span: code.span,
    };
    const out: number[] = [];
    for (const line of extractCommandLines(code.text, language)) {
      out.push(...this.parseText(line, this.textFrame(frame, code.span, 'interpreter', seg.id)));
    }
    return out;
  }

  /** Text that reaches a program's standard input: a script for a shell, code for an interpreter. */
  private feedStdin(seg: SegmentDraft, text: WordEx, frame: Frame): number[] {
    if (!seg.stdin) return [];
    if (seg.stdin.kind === 'shell') {
      return this.shellPayload(text, frame, seg.id, 'shell-stdin');
    }
    if (seg.payload) return [];
    return this.setPayload(seg, frame, seg.stdin.language, text);
  }

  /**
   * `echo 'rm -rf /' | sh`, `printf … | base64 -d | bash`, `cat <<EOF | python3`: when a
   * pipeline's producer prints a literal (after known decoders), the consumer's script is known.
   */
  private feedLiterals(groups: number[][], frame: Frame): void {
    for (let i = 0; i + 1 < groups.length; i++) {
      const producer = groups[i]!.length === 1 ? this.segments[groups[i]![0]!]! : null;
      if (!producer) continue;
      const literal = literalOutput(producer, this.redirectTexts);
      if (literal === null) continue;
      let { text } = literal;
      let source: WordEx | null = literal.word;
      let j = i + 1;
      while (j < groups.length && groups[j]!.length >= 1) {
        const consumer = this.segments[groups[j]![0]!]!;
        const decoded = applyDecoder(consumer, text);
        if (decoded !== undefined) {
          if (decoded === null) break;
          text = decoded;
          source = null;
          j++;
          continue;
        }
        if (consumer.stdin) {
          const word: WordEx = source ?? {
            text,
            dynamic: false,
            glob: false,
            span: literal.span,
            exact: null,
            substituted: false,
          };
          const ids = this.feedStdin(
            consumer,
            word,
            this.child(frame, frame.via, frame.parent, { privileged: consumer.privileged }),
          );
          for (const id of ids) this.flow(producer.id, id, 'literal');
        }
        break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private finish(hidden: ReturnType<typeof findHiddenCharacters>): Script {
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

const LINEAR = {
  offset: 0,
  table: null,
  breaks: null,
  fixed: null,
  heredocs: new Map<number, Heredoc>(),
  text: '',
} as const;

/** The here-document a redirect stands for: the reader wrote it as `<TOKEN` (reader.ts). */
function heredocOf(redirect: SyntaxNode, frame: Frame): Heredoc | undefined {
  if (redirect.type !== 'file_redirect' || !redirect.children.some((c) => c.type === '<')) return undefined;
  const value = redirect.namedChildren.filter((c) => c.type !== 'file_descriptor');
  if (value.length !== 1 || value[0]!.type !== 'word') return undefined;
  const known = frame.heredocs.get(value[0]!.startIndex);
  return known && value[0]!.text === known.token ? known : undefined;
}

/**
 * The parsed text of [start, end) as the agent wrote it, but for joined continuations: the
 * reader blanked here-document bodies and renamed their delimiters for tree-sitter.
 */
function displayText(text: string, start: number, end: number, heredocs: ReadonlyMap<number, Heredoc>): string {
  let out = text.slice(start, end);
  if (heredocs.size === 0) return out;
  // bodies from the last to the first, so earlier offsets stay valid
  for (const h of [...heredocs.values()].sort((a, b) => b.bodyStart - a.bodyStart)) {
    if (h.bodyStart < start || h.bodyEnd > end || h.body.length !== h.bodyEnd - h.bodyStart) continue;
    out = out.slice(0, h.bodyStart - start) + h.body + out.slice(h.bodyEnd - start);
  }
  for (const h of heredocs.values())
    out = out.replace(new RegExp(`< *${h.token}(?![A-Za-z0-9_])`), `<<${h.stripTabs ? '-' : ''}${h.written}`);
  return out;
}

function plainWord(w: WordEx | Word): Word {
  return { text: w.text, dynamic: w.dynamic, glob: w.glob, span: w.span };
}

const REDIRECT_OPS = new Set(['<', '>', '>>', '>|', '<>', '&>', '&>>', '>&', '<&', '<<', '<<-', '<<<', '>&-', '<&-']);
function isRedirectOp(type: string): boolean {
  return REDIRECT_OPS.has(type);
}

// -------------------------------------------------------------------------------------------------
// option grammars

interface Unwrapped {
  inner: WordEx[];
  /** How many words of argv belong to the wrapper itself. */
  consumed: number;
  assignments: WordEx[];
  commandString: WordEx | null;
  noCommand: boolean;
  /** `watch -x`: the words are an argv, not a shell string. */
  execForm: boolean;
}

function optionValue(
  word: string,
  options: readonly string[] | undefined,
): { option: string; attached: string | null } | null {
  if (!options) return null;
  for (const o of options) {
    if (word === o) return { option: o, attached: null };
    if (o.startsWith('--') && word.startsWith(`${o}=`)) return { option: o, attached: word.slice(o.length + 1) };
    if (!o.startsWith('--') && o.length === 2 && word.startsWith(o) && word.length > 2)
      return { option: o, attached: word.slice(2) };
  }
  return null;
}

function unwrap(argv: WordEx[], spec: WrapperSpec): Unwrapped {
  const result: Unwrapped = {
    inner: [],
    consumed: argv.length,
    assignments: [],
    commandString: null,
    noCommand: false,
    execForm: false,
  };
  let positionals = spec.positionals ?? 0;
  let i = 1;
  const split: WordEx[] = [];
  for (; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (w.dynamic) break;
    if (t === '--') {
      i++;
      break;
    }
    // env and sudo take NAME=value; for other wrappers bash would not, but reading it as an
    // assignment can only add signals, never hide one
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(t) && (spec.assignments || positionals === 0)) {
      result.assignments.push(w);
      continue;
    }
    if (t.startsWith('-') && t !== '-' && !(positionals === 0 && spec.firstPositionalIsProgram)) {
      if (spec.noCommandOptions?.includes(t)) result.noCommand = true;
      if (t === '-x' || t === '--exec') result.execForm = true;
      const cs = optionValue(t, spec.commandStringOptions);
      if (cs) {
        const value = cs.attached !== null ? { ...w, text: cs.attached, exact: null } : argv[++i];
        if (value) result.commandString = value;
        continue;
      }
      const ss = optionValue(t, spec.splitStringOptions);
      if (ss) {
        const value = cs === null && ss.attached !== null ? ss.attached : argv[++i]?.text;
        if (value !== undefined) for (const part of splitWords(value)) split.push({ ...w, text: part, exact: null });
        continue;
      }
      const vo = optionValue(t, spec.valueOptions);
      if (vo) {
        if (vo.attached === null) i++;
        continue;
      }
      if (!t.startsWith('--') && spec.valueOptions) {
        // bundled short options: the last one may take the next word (`sudo -Eu root`)
        const letters = t.slice(1);
        let consumed = false;
        for (let k = 0; k < letters.length; k++) {
          if (spec.noCommandOptions?.includes(`-${letters[k]}`)) result.noCommand = true;
          if (spec.valueOptions.includes(`-${letters[k]}`)) {
            if (k === letters.length - 1) i++;
            consumed = true;
            break;
          }
        }
        if (consumed) continue;
      }
      continue;
    }
    if (positionals > 0) {
      positionals--;
      continue;
    }
    break;
  }
  if (spec.commandStringOptions && result.commandString === null) {
    // `su root -c 'cmd'`: options may follow the positional
    for (let k = i; k < argv.length; k++) {
      const cs = optionValue(argv[k]!.text, spec.commandStringOptions);
      if (cs) {
        result.commandString =
          cs.attached !== null ? { ...argv[k]!, text: cs.attached, exact: null } : (argv[k + 1] ?? null);
        break;
      }
    }
    if (result.commandString) return result;
  }
  if (result.commandString) return result;
  if (spec.commandOnlyAsString) {
    // `su - alice`, `su alice arg…`: a login shell for that user, not a command named alice
    result.noCommand = true;
    return result;
  }
  result.inner = [...split, ...argv.slice(i)];
  result.consumed = Math.min(i, argv.length);
  return result;
}

/** A minimal word splitter for `env -S 'a b'`: whitespace, single and double quotes. */
function splitWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

interface ShellInvocation {
  command: WordEx | null;
  readsStdin: boolean;
}

function shellInvocation(argv: readonly WordEx[]): ShellInvocation {
  let c = false;
  let s = false;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (t === '--' || t === '-') {
      const rest = argv[i + 1];
      if (c) return { command: rest ?? null, readsStdin: false };
      return { command: null, readsStdin: rest === undefined };
    }
    if (!w.dynamic && (t.startsWith('-') || t.startsWith('+')) && t.length > 1) {
      if (SHELL_VALUE_OPTIONS.has(t)) {
        i++;
        continue;
      }
      if (t.startsWith('--')) {
        if (t === '--rcfile' || t === '--init-file') i++;
        continue;
      }
      const letters = t.slice(1);
      if (t.startsWith('-') && letters.includes('c')) c = true;
      if (t.startsWith('-') && letters.includes('s')) s = true;
      if (letters.endsWith('o') || letters.endsWith('O')) i++;
      continue;
    }
    if (c) return { command: w, readsStdin: false };
    if (s) return { command: null, readsStdin: true };
    return { command: null, readsStdin: false }; // a script file
  }
  return { command: null, readsStdin: !c };
}

const SSH_VALUE_OPTIONS = new Set('bcDEeFIiJLlmOopQRSWwB'.split('').map((l) => `-${l}`));

function sshInvocation(argv: readonly WordEx[]): { host: string | null; command: WordEx[] } {
  for (let i = 1; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') return { host: argv[i + 1]?.text ?? null, command: argv.slice(i + 2) };
    if (t.startsWith('-') && t.length > 1) {
      const letters = t.slice(1);
      for (let k = 0; k < letters.length; k++) {
        if (SSH_VALUE_OPTIONS.has(`-${letters[k]}`)) {
          if (k === letters.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return { host: t, command: argv.slice(i + 1) };
  }
  return { host: null, command: [] };
}

const CONTAINER_RUNNERS = new Set(['docker', 'podman', 'nerdctl', 'kubectl', 'oc']);

const DOCKER_VALUE_OPTIONS = new Set([
  '-v',
  '--volume',
  '-e',
  '--env',
  '--env-file',
  '--name',
  '-p',
  '--publish',
  '-w',
  '--workdir',
  '-u',
  '--user',
  '--entrypoint',
  '--network',
  '--net',
  '-m',
  '--memory',
  '--cpus',
  '--mount',
  '-l',
  '--label',
  '--hostname',
  '-h',
  '--add-host',
  '--device',
  '--cap-add',
  '--cap-drop',
  '--security-opt',
  '--restart',
  '--pull',
  '--platform',
  '--log-driver',
  '--log-opt',
  '--tmpfs',
  '--ulimit',
  '--ipc',
  '--pid',
  '--shm-size',
  '--gpus',
  '--runtime',
  '--dns',
  '--expose',
  '--link',
  '--volumes-from',
  '--detach-keys',
  '-a',
  '--attach',
  '--cidfile',
  '--group-add',
  '--stop-signal',
  '--stop-timeout',
  '--health-cmd',
  '--userns',
  '--uts',
  '--cgroupns',
  '--index',
  '--cpuset-cpus',
  '--memory-swap',
  '--storage-opt',
  '--sysctl',
  '--label-file',
]);

/** `docker compose` options before its subcommand that take a value. */
const COMPOSE_VALUE_OPTIONS = new Set([
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--project-directory',
  '--env-file',
  '--profile',
  '--ansi',
  '--progress',
]);

/**
 * The command a container runner starts inside a container: `kubectl exec|run|debug … -- CMD`,
 * `docker exec [opts] CONTAINER CMD`, `docker run [opts] IMAGE CMD`.
 */
function containerCommand(program: string, argv: readonly WordEx[]): WordEx[] {
  if (program === 'kubectl' || program === 'oc') {
    const dash = argv.findIndex((w) => w.text === '--');
    if (dash === -1 || !argv.slice(1, dash).some((w) => ['exec', 'run', 'debug'].includes(w.text))) return [];
    return argv.slice(dash + 1);
  }
  let i = 1;
  // `docker container exec`, `docker compose exec SERVICE CMD` (compose's own flags before it)
  if (argv[i]?.text === 'container') i++;
  else if (argv[i]?.text === 'compose') {
    for (i++; i < argv.length && argv[i]!.text.startsWith('-'); i++) if (COMPOSE_VALUE_OPTIONS.has(argv[i]!.text)) i++;
  }
  const sub = argv[i]?.text;
  if (sub !== 'exec' && sub !== 'run') return [];
  for (i++; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (!t.startsWith('-') || t === '-') break;
    if (DOCKER_VALUE_OPTIONS.has(t)) i++;
  }
  return argv.slice(i + 1); // skip the container or image name
}

function parallelCommand(argv: readonly WordEx[]): WordEx[] {
  const valueOptions = new Set([
    '-j',
    '--jobs',
    '-S',
    '--sshlogin',
    '-a',
    '--arg-file',
    '-d',
    '--delimiter',
    '-I',
    '--colsep',
    '-N',
    '-n',
    '--max-args',
    '--joblog',
    '--results',
    '--tmpdir',
    '--timeout',
    '--delay',
  ]);
  let i = 1;
  for (; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (t.startsWith('-')) {
      if (valueOptions.has(t)) i++;
      continue;
    }
    break;
  }
  const cmd: WordEx[] = [];
  for (; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === ':::' || t === '::::' || t === ':::+' || t === '::::+') break;
    cmd.push(argv[i]!);
  }
  return cmd;
}

/**
 * The code an interpreter runs: the value(s) of its code options (several `-e` are joined, as
 * perl and osascript do), its first operand for awk-like programs, or standard input.
 */
function interpreterCode(argv: readonly WordEx[], spec: (typeof INTERPRETERS)[string]): WordEx | 'stdin' | null {
  const parts: WordEx[] = [];
  let sawPositional = false;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (spec.codeOptions.includes(t)) {
      const code = argv[++i];
      if (code) parts.push(code);
      continue;
    }
    const attached = spec.codeOptions.find(
      (o) => o.length === 2 && t.startsWith(o) && t.length > 2 && !t.startsWith('--'),
    );
    if (attached) {
      parts.push({ ...w, text: t.slice(2), exact: w.exact === null ? null : w.exact + 2 });
      continue;
    }
    // perl -le 'code', python -Bc 'code': a code option bundled after flags
    if (/^-[A-Za-z]+$/.test(t) && spec.codeOptions.some((o) => o.length === 2 && t.endsWith(o[1]!))) {
      const code = argv[++i];
      if (code) parts.push(code);
      continue;
    }
    if (parts.length > 0) {
      // after inline code, the rest are arguments to it
      if (t.startsWith('-')) continue;
      break;
    }
    if (t === '-') return 'stdin';
    // a module or a program file runs instead of inline code
    if (t === '-m' || (spec.language === 'awk' && t === '-f')) return null;
    if (t === '--') {
      sawPositional = true;
      break;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (spec.valueOptions?.includes(t)) i++;
      continue;
    }
    if (spec.programIsFirstPositional) return w;
    sawPositional = true;
    break;
  }
  if (parts.length === 1) return parts[0]!;
  if (parts.length > 1) {
    return {
      text: parts.map((p) => p.text).join('\n'),
      dynamic: parts.some((p) => p.dynamic),
      glob: false,
      span: joinSpan(parts[0]!.span, parts[parts.length - 1]!.span),
      exact: null,
      substituted: parts.some((p) => p.substituted),
    };
  }
  return sawPositional ? null : spec.programIsFirstPositional ? null : 'stdin';
}

/** git's global options that take the next word as their value. */
const GIT_GLOBAL_VALUES = new Set([
  '-C',
  '-c',
  '--git-dir',
  '--work-tree',
  '--namespace',
  '--config-env',
  '--exec-path',
  '--super-prefix',
  '--list-cmds',
]);

/** Options of git subcommands whose value is a command line for the shell. */
const GIT_SUBCOMMAND_CARRIERS: Readonly<Record<string, (typeof COMMAND_CARRIERS)[string]>> = {
  difftool: { options: { '-x': 'shell', '--extcmd': 'shell' } },
  mergetool: { options: { '--tool-cmd': 'shell' } },
  // (`--exec` is a carrier of every git command: COMMAND_CARRIERS)
  rebase: { options: { '-x': 'shell' } },
  'filter-branch': {
    options: {
      '--env-filter': 'shell',
      '--tree-filter': 'shell',
      '--index-filter': 'shell',
      '--parent-filter': 'shell',
      '--msg-filter': 'shell',
      '--commit-filter': 'shell',
      '--tag-name-filter': 'shell',
    },
  },
};

interface Carried {
  word: WordEx;
  syntax: EscapeSyntax;
}

function carriedCommands(argv: readonly WordEx[], spec: (typeof COMMAND_CARRIERS)[string]): Carried[] {
  const out: Carried[] = [];
  const take = (w: WordEx, text: string, syntax: EscapeSyntax, offset: number | null): void => {
    out.push({ word: { ...w, text, exact: w.exact === null || offset === null ? null : w.exact + offset }, syntax });
  };
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    let matched = false;
    for (const [key, syntax] of Object.entries(spec.options ?? {})) {
      const space = key.indexOf(' ');
      if (space !== -1) {
        // `-o Key=` / `-c alias.`: an option, then a word starting with a prefix
        const opt = key.slice(0, space);
        const prefix = key.slice(space + 1);
        const valueWord =
          t === opt
            ? argv[i + 1]
            : t.startsWith(opt) && t.length > opt.length
              ? { ...w, text: t.slice(opt.length), exact: w.exact === null ? null : w.exact + opt.length }
              : undefined;
        if (!valueWord || !valueWord.text.toLowerCase().startsWith(prefix.toLowerCase())) continue;
        const rest = valueWord.text.slice(prefix.length);
        const eq = prefix.endsWith('=') ? -1 : rest.indexOf('=');
        const start = prefix.length + (eq === -1 ? 0 : eq + 1);
        take(valueWord, valueWord.text.slice(start), syntax, start);
        if (t === opt) i++;
        matched = true;
        break;
      }
      if (key.endsWith('=') || key.endsWith('.')) {
        if (t.startsWith(key)) {
          let value = t.slice(key.length);
          if (key.includes(':')) value = value.split(',')[0]!;
          take(w, value, syntax, key.length);
          matched = true;
          break;
        }
        continue;
      }
      if (t === key) {
        const next = argv[i + 1];
        if (next) take(next, next.text, syntax, 0);
        i++;
        matched = true;
        break;
      }
      if (key.startsWith('--') && t.startsWith(`${key}=`)) {
        take(w, t.slice(key.length + 1), syntax, key.length + 1);
        matched = true;
        break;
      }
      if (!key.startsWith('--') && key.length === 2 && t.startsWith(key) && t.length > 2) {
        take(w, t.slice(2), syntax, 2);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    for (const [prefix, syntax] of Object.entries(spec.prefixes ?? {})) {
      if (t.startsWith(prefix)) {
        take(w, t.slice(prefix.length).split(',')[0]!, syntax, prefix.length);
        matched = true;
        break;
      }
    }
    if (!matched && spec.positionals && !t.startsWith('-')) take(w, t, spec.positionals, 0);
  }
  return out;
}

interface Literal {
  text: string;
  /** The word that holds exactly this text, so nested spans stay precise. */
  word: WordEx | null;
  span: Span;
}

/** What a producer prints when it is known without running anything. */
function literalOutput(seg: SegmentDraft, texts: Map<Redirect, WordEx>): Literal | null {
  const args = seg.argv.slice(1);
  if (args.some((a) => a.dynamic || a.glob)) return null;
  const span = args.length > 0 ? joinSpan(args[0]!.span, args[args.length - 1]!.span) : seg.span;
  const text = literalText(seg, args, texts);
  if (text === null) return null;
  if (text instanceof Object) return { text: text.text, word: text, span: text.span };
  const only = args.length === 1 && args[0]!.text === text ? args[0]! : null;
  return { text, word: only, span };
}

function literalText(seg: SegmentDraft, args: WordEx[], texts: Map<Redirect, WordEx>): string | WordEx | null {
  switch (seg.program) {
    case 'echo': {
      let i = 0;
      let escapes = false;
      while (i < args.length && /^-[neE]+$/.test(args[i]!.text)) {
        if (args[i]!.text.includes('e')) escapes = true;
        i++;
      }
      const text = args
        .slice(i)
        .map((a) => a.text)
        .join(' ');
      return escapes
        ? text.replace(/\\(x[0-9a-fA-F]{1,2}|0[0-7]{0,3}|[abefnrtv\\])/g, (m) =>
            m === '\\\\' ? '\\' : m === '\\n' ? '\n' : m === '\\t' ? '\t' : m,
          )
        : text;
    }
    case 'printf': {
      if (args.length === 0) return null;
      let fmt = args[0]!.text;
      const rest = args.slice(1).map((a) => a.text);
      if (fmt === '--' && args[1]) fmt = args[1].text;
      let k = 0;
      fmt = fmt.replace(/%[sb]/g, () => rest[k++] ?? '');
      return fmt.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
    }
    case 'cat': {
      if (args.length > 0 && !(args.length === 1 && args[0]!.text === '-')) return null;
      for (const r of seg.redirects) {
        const t = texts.get(r);
        if (t && !t.dynamic) return t;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Known decoders in a pipeline. undefined: not a decoder (the consumer is reached); null: a
 * decoder whose output cannot be computed (stop following the literal); else the decoded text.
 */
function applyDecoder(seg: SegmentDraft, text: string): string | null | undefined {
  const args = seg.argv.slice(1).map((a) => a.text);
  const has = (...flags: string[]): boolean => args.some((a) => flags.includes(a));
  switch (seg.program) {
    case 'base64':
    case 'b64decode':
    case 'base32':
      if (seg.program === 'b64decode' || has('-d', '--decode', '-D')) {
        if (seg.program === 'base32') return null;
        const clean = text.replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/=_-]*$/.test(clean)) return null;
        return Buffer.from(clean, 'base64').toString('utf8');
      }
      return undefined;
    case 'xxd':
      if (has('-r') && (has('-p') || has('-ps') || has('-r -p'))) {
        const clean = text.replace(/\s+/g, '');
        return /^[0-9a-fA-F]*$/.test(clean) ? Buffer.from(clean, 'hex').toString('utf8') : null;
      }
      return undefined;
    case 'rev':
      return text
        .split('\n')
        .map((l) => [...l].reverse().join(''))
        .join('\n');
    case 'gunzip':
    case 'zcat':
    case 'openssl':
    case 'tr':
    case 'sed':
      return null;
    default:
      return undefined;
  }
}

/** Parse a command text into the Script IR. Never throws on any input string. */
export function parseScript(source: string, options: ParseOptions = {}): Script {
  try {
    return new Walker(source).run(options);
  } catch (err) {
    // every walk is iterative or bounded by PARSE_LIMITS; should one still run out of stack or
    // memory (a RangeError), the command is held as unreadable, and recorded, rather than the
    // gate failing on it with nothing recorded
    if (!(err instanceof RangeError)) throw err;
    const issue: Issue = {
      code: 'too-deep',
      message: `the command could not be read (${err.message})`,
      span: [0, source.length],
    };
    return {
      source,
      segments: [],
      flows: [],
      redirects: [],
      assignments: [],
      functions: [],
      issues: [issue],
      hidden: findHiddenCharacters(source),
    };
  }
}
