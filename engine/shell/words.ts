/**
 * Words as bash passes them: tree-sitter nodes decoded to atoms (decode.ts), brace-expanded,
 * their command substitutions queued to run once the command that owns them exists; and the
 * redirects, whose targets and here-document texts are words too.
 */
import type { SyntaxNode } from 'tree-sitter';
import { TooDeep, TooManyWords, braceExpand } from './braces.js';
import {
  atomsText,
  backquoted,
  danglingExpansion,
  decodeHeredocBody,
  decodeNode,
  ESCAPES,
  hasGlob,
  hasTildeExpansion,
  hasUnparsedExpansion,
  insideDoubleQuotes,
  isAssignmentWord,
  plainWord,
  sameWord,
  unquotedText,
  type Atom,
  type DecodeSink,
  type WordEx,
} from './decode.js';
import { EvaluatedText } from './evaluated.js';
import type { Redirect, RedirectOp, Span, Via } from './ir.js';
import type { Heredoc } from './reader.js';
import { escapeForDisplay } from './text.js';
import { walkTree } from './tree-sitter.js';
import type { Frame, PendingSubstitution } from './walk-state.js';

/** Tokens tree-sitter may leave as plain text although bash expands what they hold. */
const LEAF_TOKENS = new Set(['word', 'extglob_pattern', 'regex', 'number', 'test_operator', 'file_descriptor']);

export const VARIABLE_REF = /\$\{?#?!?([A-Za-z_][A-Za-z0-9_]*)/g;

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

const REDIRECT_OPS = new Set(['<', '>', '>>', '>|', '<>', '&>', '&>>', '>&', '<&', '<<', '<<-', '<<<', '>&-', '<&-']);

function isRedirectOp(type: string): boolean {
  return REDIRECT_OPS.has(type);
}

export abstract class Words extends EvaluatedText {
  protected decode(node: SyntaxNode, frame: Frame, substitutions: PendingSubstitution[]): WordEx {
    return this.decodeRun([node], frame, substitutions);
  }

  /** The atoms of adjacent nodes (no space between them: one word to bash). */
  protected atomsOf(
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
  protected literalSubstitution(node: SyntaxNode, frame: Frame): string | null {
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
  protected wordOf(atoms: readonly Atom[], span: Span, exact: number | null, substituted: boolean): WordEx {
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
  protected decodeRun(nodes: SyntaxNode[], frame: Frame, substitutions: PendingSubstitution[]): WordEx {
    const { atoms, span, exactLocal, substituted } = this.atomsOf(nodes, frame, substitutions);
    const text = atomsText(atoms);
    const exact = exactLocal === null ? null : this.verbatimAt(frame, exactLocal, text.length);
    return this.wordOf(atoms, span, exact, substituted);
  }

  /** The words one command word becomes after brace expansion (`{'-a',b}` → `-a` `b`). */
  protected expandRun(
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
  protected words(
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
  protected expression(node: SyntaxNode, frame: Frame, owner: number | null): void {
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

  protected runSubstitutions(pending: PendingSubstitution[], owner: number | null): number[] {
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

  protected variableFlows(words: readonly WordEx[], owner: number): void {
    for (const w of words) {
      if (!w.dynamic) continue;
      for (const m of w.text.matchAll(VARIABLE_REF)) {
        for (const from of this.variables.get(m[1]!) ?? []) this.flow(from, owner, 'variable');
      }
    }
  }

  /**
   * Decode one redirect. Substitutions inside it are appended to `pending` for the caller to
   * run once the owning segment exists; stray destinations go to `extraArgs`.
   */
  protected redirect(
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

  /**
   * The text a here-document feeds, as bash read it (reader.ts): literal when its delimiter was
   * quoted; else with `\$`, `` \` ``, `\\` unescaped and its substitutions run, dynamic
   * where they make it so.
   */
  protected heredocText(known: Heredoc, frame: Frame, pending: PendingSubstitution[]): WordEx {
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
}
