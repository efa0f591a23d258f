/**
 * The statement walker: tree-sitter-bash → Script IR. It visits an allowlist of node kinds;
 * anything else becomes an issue (the command is then never approved automatically) while its
 * children are still searched for commands, so detection does not stop at a construct it does
 * not know. Lists, pipelines, compound commands, loops, tests and arithmetic commands are read
 * here; simple commands go to segments.ts.
 */
import type { SyntaxNode, Tree } from 'tree-sitter';
import { SUBSCRIPT_COMMAND } from './assignments.js';
import { assignmentName, ESCAPES, type WordEx } from './decode.js';
import { constantArithmetic } from './evaluated.js';
import type { Script, Span } from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import { Programs } from './programs.js';
import { insertAt, readBash, type ReadText } from './reader.js';
import { escapeForDisplay, findHiddenCharacters } from './text.js';
import { findGlue, parseBash, walkTree } from './tree-sitter.js';
import { LINEAR, type Frame, type PendingSubstitution } from './walk-state.js';

export interface ParseOptions {
  /** The input bytes were not valid UTF-8 (decoded with replacement characters). */
  readonly invalidUtf8?: boolean;
  /**
   * A `performance.now()` time past which the walker reads no further statement and reports
   * `budget-exceeded` (the command is then held, never allowed).
   */
  readonly deadline?: number;
}

/** Repairs of tree-sitter misreadings tried on one text before it counts as unparsable. */
const MAX_REPAIRS = 32;

/** Node kinds besides `…expression` that are expressions to the walker: it runs only their substitutions. */
const EXPRESSION_NODES = new Set([
  'word',
  'string',
  'raw_string',
  'number',
  'concatenation',
  'simple_expansion',
  'expansion',
  'command_substitution',
  'process_substitution',
  'arithmetic_expansion',
  'ansi_c_string',
  'translated_string',
  'variable_name',
  'special_variable_name',
  'subscript',
  'test_operator',
  'extglob_pattern',
  'regex',
  'brace_expression',
  'array',
  'heredoc_body',
  'heredoc_start',
  'heredoc_end',
  'heredoc_content',
  'file_descriptor',
]);

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

/** The walker whole: `run` reads one command into a Script. */
export class Walker extends Programs {
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

  protected parseText(text: string, frame: Frame): number[] {
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
  protected treeOf(text: string, span: Span): Tree | null {
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
  protected readFrame(frame: Frame, read: ReadText): Frame {
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
  protected interactiveInput(root: SyntaxNode, text: string, frame: Frame): void {
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

  protected reportErrors(root: SyntaxNode, frame: Frame): void {
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

  protected statement(node: SyntaxNode, frame: Frame): number[] {
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

  protected statementInner(node: SyntaxNode, frame: Frame): number[] {
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

  protected isExpression(node: SyntaxNode): boolean {
    return node.type.endsWith('expression') || EXPRESSION_NODES.has(node.type);
  }

  /**
   * Statements and expressions inside a node (the program, a block, a loop body): run them,
   * collect their segments; `&` marks the statement before it as background.
   */
  protected compound(node: SyntaxNode, frame: Frame): number[] {
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
  protected checkCoverage(node: SyntaxNode, frame: Frame, statements = true): void {
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

  protected readRedirect(node: SyntaxNode, frame: Frame): number[] {
    const pending: PendingSubstitution[] = [];
    const { redirect } = this.redirect(node, frame, [], [], pending);
    if (!redirect) return [];
    const span = this.nodeSpan(frame, node);
    const cat: WordEx = { text: 'cat', dynamic: false, glob: false, span, exact: null, substituted: false };
    return this.buildSegment([cat], frame, span, [], [redirect], pending);
  }

  /** `a && b || c` nests to the left; walk it without recursion. */
  protected list(node: SyntaxNode, frame: Frame, trailing: SyntaxNode[] = []): number[] {
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
  protected withTrailing(part: SyntaxNode, frame: Frame, trailing: SyntaxNode[]): number[] {
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
  protected pipeline(elements: SyntaxNode[], frame: Frame, head: number[] = [], trailing: SyntaxNode[] = []): number[] {
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

  protected redirected(node: SyntaxNode, frame: Frame): number[] {
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
  protected applyRedirects(redirectNodes: SyntaxNode[], ids: number[], frame: Frame): void {
    const pending: PendingSubstitution[] = [];
    for (const r of redirectNodes) {
      const { redirect } = this.redirect(r, frame, ids, [], pending);
      if (redirect) this.attachRedirect(redirect, ids);
    }
    this.runSubstitutions(pending, ids.length === 1 ? ids[0]! : null);
  }

  protected functionDefinition(node: SyntaxNode, frame: Frame): number[] {
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

  /** `(( expr ))`: a segment `((` whose expression is dynamic unless it is a literal number. */
  protected arithmeticCommand(node: SyntaxNode, frame: Frame): number[] {
    const open = node.child(0)!;
    const close = node.child(node.childCount - 1)!;
    const from = open.endIndex;
    const to = close.type === '))' ? close.startIndex : node.endIndex;
    return this.arithmeticSegment(node, node.text.slice(from - node.startIndex, to - node.startIndex), frame, [
      from,
      to,
    ]);
  }

  protected arithmeticSegment(node: SyntaxNode, expression: string, frame: Frame, range: [number, number]): number[] {
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
  protected testCommand(node: SyntaxNode, frame: Frame): number[] {
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

  /**
   * `for NAME in WORDS` assigns NAME each word in turn (one assignment per word, as expanded;
   * a glob or run-time word is dynamic); with no list, the positional parameters.
   */
  protected forStatement(node: SyntaxNode, frame: Frame): number[] {
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
  protected cStyleFor(node: SyntaxNode, frame: Frame): number[] {
    const ids: number[] = [];
    for (const c of node.namedChildren) {
      if (c.type === 'do_group' || c.type === 'compound_statement') ids.push(...this.statement(c, frame));
      else if (c.type !== 'comment') ids.push(...this.arithmeticSegment(c, c.text, frame, [c.startIndex, c.endIndex]));
    }
    return ids;
  }
}
