/**
 * What bash's input reader does before its parser sees a token, done the same way before
 * tree-sitter sees the text: backslash-newline line continuations are removed (outside single
 * quotes, ANSI-C strings, comments and quoted here-document bodies) and here-documents are read
 * as bash reads them — the delimiter after quote removal, `<<-` tabs stripped, bodies gathered
 * after the line that opened them, an unquoted body's continuations joined before the terminator
 * is compared. Each here-document is handed to tree-sitter under a fresh, quoted delimiter that
 * appears nowhere else, with its body blanked (newlines kept), so the parser cannot end a body
 * anywhere but where bash does nor misread what is in it (its scanner glues a body line that
 * starts with a backslash onto the command); the walker takes the body from here and performs
 * an unquoted body's expansions itself.
 *
 * The result maps every offset of the text tree-sitter reads back to the input, so spans keep
 * pointing at what the agent wrote.
 */
import { decodeAnsiC, decodeAnsiCExact } from './decode.js';

export interface Heredoc {
  /**
   * Offset of the fresh delimiter word in the normalized text. Tree-sitter cannot read several
   * here-documents on a line, nor some bodies, so it never sees one: the operator and delimiter
   * become a redirect from the fresh delimiter (`<<-'EOF'` → `<    PGHEREDOC0`) and the body
   * and terminator lines are blanked (the reader has the body).
   */
  readonly tokenStart: number;
  /** The delimiter bash compares lines with: after quote removal. */
  readonly delimiter: string;
  /** The fresh delimiter tree-sitter reads instead, and the delimiter word as written. */
  readonly token: string;
  readonly written: string;
  /** Any part of the delimiter was quoted: the body is literal. */
  readonly quoted: boolean;
  /** `<<-`: leading tabs were stripped from the body lines and the terminator. */
  readonly stripTabs: boolean;
  /** The body bash feeds (continuations joined, tabs stripped as bash does). */
  readonly body: string;
  /** Where the (blanked) body is in the normalized text, [start, end): the terminator line follows. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** The terminator line was found (else the body runs to the end of the input, as bash does). */
  readonly terminated: boolean;
  /**
   * The input ended inside the body without a newline; the normalized text has one added, which
   * is not part of what bash feeds.
   */
  readonly addedNewline: boolean;
}

export interface ReadText {
  /** The text tree-sitter parses. */
  readonly text: string;
  /**
   * Normalized offset → input offset (length text.length + 1); null when the text is the input
   * unchanged.
   */
  readonly map: Int32Array | null;
  /**
   * Cumulative count of offsets where the normalized text stops being a verbatim copy of the
   * input (a removed continuation, a rewritten delimiter, stripped tabs): [a, b) is verbatim when
   * `breaks[b] - breaks[a] === 0`. Null when nothing changed.
   */
  readonly breaks: Int32Array | null;
  readonly heredocs: readonly Heredoc[];
}

type Context =
  | { kind: 'cmd'; closer: ')' | '`' | null; parens: number; cases: number }
  | { kind: 'dq' }
  | { kind: 'param' }
  | { kind: 'arith'; parens: number; double: boolean };

interface Pending {
  opStart: number;
  written: string;
  delimiter: string;
  quoted: boolean;
  stripTabs: boolean;
  token: string;
  tokenStart: number;
}

/** What tree-sitter takes for blanks between words; to bash only space and tab are. */
const SPACES = new Set([' ', '\t', '\v', '\f', '\r']);

const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

/** Reserved words after which a command starts. */
const COMMAND_KEYWORDS = new Set(['then', 'do', 'else', 'elif', 'if', 'while', 'until', 'time', '!']);

/** Text with none of these is read by bash as it is written: nothing to normalize. */
const NEEDS_READING = new RegExp(
  String.raw`\\[\n \t]|[\v\f\r]|<<|!|\$'|(?:^|[\s;&|()])[[-]|(?:^|[\s;&|()` +
    '`' +
    String.raw`])[0-9][A-Za-z0-9_]*[[+=]|esac\||` +
    String.raw`[A-Za-z0-9_]%|\$"|\$(?:[\s;&|)<>]|$)|\{\}`,
);

class Reader {
  /** The normalized text, one UTF-16 unit per entry (a string built by += is re-flattened on every look back). */
  private readonly out: string[] = [];
  private readonly map: number[] = [];
  private changed = false;
  private readonly heredocs: Heredoc[] = [];
  private pending: Pending[] = [];
  private tokens = 0;
  private readonly stack: Context[] = [{ kind: 'cmd', closer: null, parens: 0, cases: 0 }];
  private i = 0;

  constructor(private readonly src: string) {}

  run(): ReadText {
    const src = this.src;
    if (!NEEDS_READING.test(src)) return { text: src, map: null, breaks: null, heredocs: [] };
    while (this.i < src.length) this.step();
    if (this.pending.length > 0) this.gatherHeredocs(true);
    if (!this.changed) return { text: src, map: null, breaks: null, heredocs: this.heredocs };
    this.map.push(src.length);
    const map = Int32Array.from(this.map);
    const breaks = new Int32Array(map.length);
    for (let k = 1; k < map.length; k++) breaks[k] = breaks[k - 1]! + (map[k] === map[k - 1]! + 1 ? 0 : 1);
    return { text: this.out.join(''), map, breaks, heredocs: this.heredocs };
  }

  private get top(): Context {
    return this.stack[this.stack.length - 1]!;
  }

  private emit(text: string, from: number): void {
    for (let k = 0; k < text.length; k++) {
      this.out.push(text[k]!);
      this.map.push(from + k);
    }
  }

  /** Emit generated text (a fresh delimiter) attributed to one input offset. */
  private emitAt(text: string, at: number): void {
    this.changed = true;
    // one entry per UTF-16 unit, as offsets count them
    for (let k = 0; k < text.length; k++) {
      this.out.push(text[k]!);
      this.map.push(at);
    }
  }

  private copy(n: number): void {
    this.emit(this.src.slice(this.i, this.i + n), this.i);
    this.i += n;
  }

  /** Skip continuations at the read position (contexts where bash removes them). */
  private skipContinuations(): void {
    while (this.src[this.i] === '\\' && this.src[this.i + 1] === '\n') {
      this.i += 2;
      this.changed = true;
    }
  }

  /** The character `k` places ahead, continuations skipped. */
  private peek(k: number): string | undefined {
    let j = this.i;
    for (let n = 0; ; n++) {
      while (this.src[j] === '\\' && this.src[j + 1] === '\n') j += 2;
      if (n === k) return this.src[j];
      j++;
    }
  }

  /** Consume `n` logical characters (continuations between them removed), emitting them. */
  private take(n: number): void {
    for (let k = 0; k < n; k++) {
      this.skipContinuations();
      this.copy(1);
    }
  }

  /** After a command separator or a keyword that a command follows (`then`, `do`, `if` …). */
  private atCommandStart(): boolean {
    let k = this.out.length - 1;
    while (k >= 0 && (this.out[k] === ' ' || this.out[k] === '\t')) k--;
    // `a=(` opens an array's words, not a subshell
    if (this.out[k] === '(' && this.out[k - 1] === '=') return false;
    // `{` and `}` are syntax only as words of their own: `a{! x` runs the command `a{!`
    if ((this.out[k] === '{' || this.out[k] === '}') && k > 0 && !/[\s;&|()]/.test(this.out[k - 1]!)) return false;
    if (k < 0 || '\n;&|(){'.includes(this.out[k]!)) return true;
    const word = /[A-Za-z!]+$/.exec(this.out.slice(Math.max(0, k - 7), k + 1).join(''))?.[0];
    const before = this.out[k - (word?.length ?? 0)];
    return word !== undefined && (before === undefined || /[\s;&|(]/.test(before)) && COMMAND_KEYWORDS.has(word);
  }

  private atWordStart(): boolean {
    const prev = this.out[this.out.length - 1];
    return prev === undefined || META.has(prev);
  }

  private step(): void {
    const ctx = this.top;
    this.skipContinuations();
    if (this.i >= this.src.length) return;
    switch (ctx.kind) {
      case 'cmd':
        return this.stepCommand(ctx);
      case 'dq':
        return this.stepDoubleQuoted();
      case 'param':
        return this.stepParam();
      case 'arith':
        return this.stepArith(ctx);
    }
  }

  /** `$…` openings shared by every context where expansions happen. */
  private dollar(): boolean {
    if (this.src[this.i] !== '$') return false;
    const next = this.peek(1);
    if (next === '(') {
      if (this.peek(2) === '(') {
        this.take(3);
        this.stack.push({ kind: 'arith', parens: 0, double: true });
      } else {
        this.take(2);
        this.stack.push({ kind: 'cmd', closer: ')', parens: 0, cases: 0 });
      }
      return true;
    }
    if (next === '{') {
      this.take(2);
      this.stack.push({ kind: 'param' });
      return true;
    }
    if (next === '[') {
      this.take(2);
      this.stack.push({ kind: 'arith', parens: 0, double: false });
      return true;
    }
    return false;
  }

  private stepCommand(ctx: Extract<Context, { kind: 'cmd' }>): void {
    const src = this.src;
    const c = src[this.i]!;
    if (c === '\\' && SPACES.has(src[this.i + 1] ?? '')) {
      // tree-sitter drops an escaped blank that does not follow a plain character (`'*'\ `,
      // `[[ \  ]]`): quoted, it is the same one-character word part
      this.emitAt("'", this.i);
      this.emit(src[this.i + 1]!, this.i + 1);
      this.emitAt("'", this.i + 1);
      this.i += 2;
      return;
    }
    if (c === '\v' || c === '\f' || c === '\r') {
      // a word character to bash, a blank to tree-sitter: quoted, the same word part
      this.emitAt("'", this.i);
      this.emit(c, this.i);
      this.emitAt("'", this.i);
      this.i++;
      return;
    }
    if (c === '\\') {
      // an escaped character (continuations were removed above)
      this.copy(Math.min(2, src.length - this.i));
      return;
    }
    if (c === "'") return this.singleQuoted();
    if (c === '"') {
      this.copy(1);
      this.stack.push({ kind: 'dq' });
      return;
    }
    if (c === '`') {
      this.copy(1);
      if (ctx.closer === '`') this.stack.pop();
      else this.stack.push({ kind: 'cmd', closer: '`', parens: 0, cases: 0 });
      return;
    }
    if (c === '$') {
      const next = this.peek(1);
      if (next === "'" && this.src[this.i + 1] === "'" && this.plainAnsiC()) return;
      if (next === "'") {
        this.take(1);
        return this.ansiC();
      }
      if (next === '"') {
        // `$"…"` is `"…"` translated by the locale's message catalog, which has none for it:
        // the IR reads it as the plain string, and tree-sitter misreads `$""` next to words
        this.changed = true;
        this.i++;
        return;
      }
      const after = this.peek(1);
      if (after === undefined || (META.has(after) && after !== '(')) {
        // a `$` before a blank or an operator is the character `$` (`$ ls` runs the command
        // `$`); tree-sitter reads `$ ls` as an expansion across the blank: `\$` is the same
        this.emitAt('\\', this.i);
        this.copy(1);
        return;
      }
      if (this.dollar()) return;
      this.copy(1);
      return;
    }
    if (c === '!' && /[ \t]/.test(this.src[this.i + 1] ?? '') && this.atCommandStart()) {
      // `! cmd` only negates the exit status, and tree-sitter reads `! { …; }` or `! if …` as a
      // command named `{` or `if`: what runs is the same without it
      this.emitAt(' ', this.i);
      this.i++;
      return;
    }
    if (
      c === '[' &&
      this.atWordStart() &&
      this.atCommandStart() &&
      !/^\[\[(?:[\s;&|()<>]|$)/.test(src.slice(this.i, this.i + 3))
    ) {
      const alone = src[this.i + 1] === undefined || META.has(src[this.i + 1]!);
      // `[ … ]` is the builtin `[` with words; tree-sitter parses it as an expression and loses
      // words it does not expect (`[ a% = a ]`): escaped, it is a command like any other. A
      // command name that starts with `[` (`[ab].txt`, a glob) it reads as a test too: after an
      // empty quoted string, which changes nothing, it is a word
      this.emitAt(alone ? '\\' : "''", this.i);
      this.copy(1);
      return;
    }
    if (c === '{' && src[this.i + 1] === '}' && this.atWordStart() && this.atCommandStart()) {
      // `{}` is a word to bash (a group needs `{ `), which tree-sitter reads as an empty group;
      // empty braces expand to nothing else, so `\{}` is the same word
      this.emitAt('\\', this.i);
      this.copy(1);
      return;
    }
    if (
      c >= '0' &&
      c <= '9' &&
      this.atWordStart() &&
      /^[0-9][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/.test(src.slice(this.i, this.i + 256))
    ) {
      // `5=a` is no assignment to bash (a name cannot start with a digit) but the command `5=a`;
      // tree-sitter reads an assignment: `\5=a` is the same word, which it reads as one
      this.emitAt('\\', this.i);
      this.copy(1);
      return;
    }
    if (c === '-' && this.atWordStart() && (src[this.i + 1] === undefined || META.has(src[this.i + 1]!))) {
      // tree-sitter drops a lone `-` before a redirect (`cat - 2>&1`); `\-` is the same word
      this.emitAt('\\', this.i);
      this.copy(1);
      return;
    }
    if (c === '#' && this.atWordStart()) {
      // a comment runs to the end of the line; a backslash-newline does not continue it
      const end = src.indexOf('\n', this.i);
      this.copy((end === -1 ? src.length : end) - this.i);
      return;
    }
    if ((c === '<' || c === '>') && this.peek(1) === '(') {
      this.take(2);
      this.stack.push({ kind: 'cmd', closer: ')', parens: 0, cases: 0 });
      return;
    }
    if (c === '(' && this.peek(1) === '(' && this.atWordStart()) {
      this.take(2);
      this.stack.push({ kind: 'arith', parens: 0, double: true });
      return;
    }
    if (c === '<' && this.peek(1) === '<' && this.peek(2) !== '<') return this.heredocOperator();
    if (c === '<' && this.peek(1) === '<') {
      this.take(3);
      return;
    }
    if (c === '(') ctx.parens++;
    if (c === ')') {
      if (ctx.closer === ')' && ctx.parens === 0 && ctx.cases === 0) {
        this.copy(1);
        this.stack.pop();
        return;
      }
      if (ctx.parens > 0) ctx.parens--;
    }
    if (c === '\n') {
      this.copy(1);
      if (this.pending.length > 0) this.gatherHeredocs(false);
      return;
    }
    if (this.atWordStart() && /[A-Za-z_]/.test(c)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(this.i, this.i + 256))![0];
      if (src[this.i + name.length] === '%' && this.atCommandStart()) {
        // tree-sitter reads `name%…` as a command name as something else (`a%a`, `b%`): `\%` is the same
        this.copy(name.length);
        this.emitAt('\\', this.i);
        this.copy(1);
        return;
      }
    }
    if (this.atWordStart() && /[a-z]/.test(c)) {
      // `case … in x) …;; esac` inside `$( )`: its patterns' `)` do not close the substitution
      const word = /^[a-z]+/.exec(src.slice(this.i, this.i + 8))![0];
      const after = src[this.i + word.length];
      let pipe = false;
      if (after === undefined || META.has(after)) {
        if (word === 'case') ctx.cases++;
        else if (word === 'esac' && ctx.cases > 0) {
          ctx.cases--;
          // tree-sitter cannot read `esac|cmd`; `esac |cmd` is the same pipeline
          pipe = after === '|';
        }
      }
      this.copy(word.length);
      if (pipe) this.emitAt(' ', this.i);
      return;
    }
    this.copy(1);
  }

  private singleQuoted(): void {
    const end = this.src.indexOf("'", this.i + 1);
    this.copy((end === -1 ? this.src.length : end + 1) - this.i);
  }

  /**
   * `$'…'` as the single-quoted string of what it decodes to (`$'\x72m'` → `'rm'`): tree-sitter
   * misreads some of them (`$'\\'`), and what bash passes is then plain to see. Not when the
   * bytes are not UTF-8 (no string is what bash passes) or the quote never closes.
   */
  private plainAnsiC(): boolean {
    const src = this.src;
    let j = this.i + 2;
    while (j < src.length && src[j] !== "'") j += src[j] === '\\' ? 2 : 1;
    if (j >= src.length) return false;
    const decoded = decodeAnsiCExact(src.slice(this.i + 2, j));
    if (!decoded.exact) return false;
    this.emitAt(`'${decoded.text.replace(/'/g, "'\\''")}'`, this.i);
    this.i = j + 1;
    return true;
  }

  private ansiC(): void {
    // at the opening quote of $'…': a backslash escapes the next character, newlines stay
    const src = this.src;
    let j = this.i + 1;
    while (j < src.length && src[j] !== "'") j += src[j] === '\\' ? 2 : 1;
    this.copy(Math.min(j + 1, src.length) - this.i);
  }

  private stepDoubleQuoted(): void {
    const c = this.src[this.i]!;
    if (c === '\\') {
      this.copy(Math.min(2, this.src.length - this.i));
      return;
    }
    if (c === '"') {
      this.copy(1);
      this.stack.pop();
      return;
    }
    if (c === '`') {
      this.copy(1);
      this.stack.push({ kind: 'cmd', closer: '`', parens: 0, cases: 0 });
      return;
    }
    if (this.dollar()) return;
    this.copy(1);
  }

  private stepParam(): void {
    const c = this.src[this.i]!;
    if (c === '\\') {
      this.copy(Math.min(2, this.src.length - this.i));
      return;
    }
    if (c === '}') {
      this.copy(1);
      this.stack.pop();
      return;
    }
    if (c === "'") return this.singleQuoted();
    if (c === '"') {
      this.copy(1);
      this.stack.push({ kind: 'dq' });
      return;
    }
    if (c === '`') {
      this.copy(1);
      this.stack.push({ kind: 'cmd', closer: '`', parens: 0, cases: 0 });
      return;
    }
    if (this.dollar()) return;
    this.copy(1);
  }

  private stepArith(ctx: Extract<Context, { kind: 'arith' }>): void {
    const c = this.src[this.i]!;
    if (c === '`') {
      this.copy(1);
      this.stack.push({ kind: 'cmd', closer: '`', parens: 0, cases: 0 });
      return;
    }
    if (this.dollar()) return;
    if (!ctx.double && c === ']') {
      this.copy(1);
      this.stack.pop();
      return;
    }
    if (c === '(') ctx.parens++;
    if (c === ')') {
      if (ctx.parens > 0) ctx.parens--;
      else if (ctx.double && this.peek(1) === ')') {
        this.take(2);
        this.stack.pop();
        return;
      }
    }
    this.copy(1);
  }

  // ---------------------------------------------------------------------------------------------
  // here-documents

  private heredocOperator(): void {
    const src = this.src;
    const opStart = this.out.length;
    this.take(2);
    let stripTabs = false;
    if (this.peek(0) === '-') {
      this.take(1);
      stripTabs = true;
    }
    for (;;) {
      this.skipContinuations();
      if (src[this.i] === ' ' || src[this.i] === '\t') this.copy(1);
      else break;
    }
    // the delimiter word, read with its quotes; bash compares lines with it after quote removal
    const start = this.i;
    let delimiter = '';
    let quoted = false;
    for (;;) {
      this.skipContinuations();
      const c = src[this.i];
      if (c === undefined || META.has(c)) break;
      if (c === "'") {
        const end = src.indexOf("'", this.i + 1);
        const stop = end === -1 ? src.length : end;
        delimiter += src.slice(this.i + 1, stop);
        this.i = Math.min(stop + 1, src.length);
        quoted = true;
      } else if (c === '"') {
        let j = this.i + 1;
        while (j < src.length && src[j] !== '"') {
          if (src[j] === '\\' && src[j + 1] === '\n') {
            j += 2;
            continue;
          }
          if (src[j] === '\\' && '$`"\\'.includes(src[j + 1] ?? '')) j++;
          delimiter += src[j];
          j++;
        }
        this.i = Math.min(j + 1, src.length);
        quoted = true;
      } else if (c === '$' && src[this.i + 1] === "'") {
        let j = this.i + 2;
        while (j < src.length && src[j] !== "'") j += src[j] === '\\' ? 2 : 1;
        delimiter += decodeAnsiC(src.slice(this.i + 2, j));
        this.i = Math.min(j + 1, src.length);
        quoted = true;
      } else if (c === '$' && src[this.i + 1] === '"') {
        this.i++;
      } else if (c === '\\') {
        delimiter += src[this.i + 1] ?? '';
        this.i = Math.min(this.i + 2, src.length);
        quoted = true;
      } else {
        delimiter += c;
        this.i++;
      }
    }
    if (this.i === start) return; // `<<` with no word: a syntax error tree-sitter reports
    let token = `PGHEREDOC${this.tokens++}`;
    // fresh: not in the input (the other fresh delimiters differ by their number)
    while (src.includes(token)) token += 'X';
    const tokenStart = this.out.length;
    this.emitAt(`'${token}'`, start);
    this.pending.push({ opStart, written: src.slice(start, this.i), delimiter, quoted, stripTabs, token, tokenStart });
  }

  /** At the start of the line after a here-document operator: read every pending body in order. */
  private gatherHeredocs(atEnd: boolean): void {
    const src = this.src;
    for (const h of this.pending) {
      // `<<-'PGHEREDOC0'` → `<    PGHEREDOC0`: the same length, so offsets and the map stay valid
      const end = h.tokenStart + h.token.length + 2;
      const form = `<${' '.repeat(end - h.opStart - 1 - h.token.length)}${h.token}`;
      for (let k = 0; k < form.length; k++) this.out[h.opStart + k] = form[k]!;
      h.tokenStart = end - h.token.length;
    }
    const blank = (h: Pending): string => ' '.repeat(h.token.length);
    for (const h of this.pending) {
      if (atEnd) {
        // the input ended on the operator's line: an empty body (bash warns and reads nothing)
        const at = this.out.length;
        this.emitAt(`\n${blank(h)}`, src.length);
        this.heredocs.push({
          tokenStart: h.tokenStart,
          delimiter: h.delimiter,
          token: h.token,
          written: h.written,
          quoted: h.quoted,
          stripTabs: h.stripTabs,
          body: '',
          bodyStart: at + 1,
          bodyEnd: at + 1,
          terminated: false,
          addedNewline: false,
        });
        continue;
      }
      const bodyStart = this.out.length;
      let body = '';
      let terminated = false;
      while (this.i < src.length) {
        // one logical line: an unquoted body joins continuations first
        const pieces: { from: number; to: number }[] = [];
        let j = this.i;
        let from = j;
        let tabsDone = !h.stripTabs;
        while (j < src.length && src[j] !== '\n') {
          if (!tabsDone) {
            if (src[j] === '\t') {
              j++;
              from = j;
              continue;
            }
            tabsDone = true;
          }
          if (!h.quoted && src[j] === '\\') {
            if (src[j + 1] === '\n') {
              pieces.push({ from, to: j });
              j += 2;
              from = j;
              continue;
            }
            j += 2;
            continue;
          }
          j++;
        }
        pieces.push({ from, to: Math.min(j, src.length) });
        const line = pieces.map((p) => src.slice(p.from, p.to)).join('');
        const hasNewline = j < src.length;
        if (line === h.delimiter) {
          const bodyEnd = this.out.length;
          this.emitAt(blank(h), pieces[0]!.from);
          if (hasNewline) this.emit('\n', j);
          this.i = hasNewline ? j + 1 : j;
          this.heredocs.push({
            tokenStart: h.tokenStart,
            delimiter: h.delimiter,
            token: h.token,
            written: h.written,
            quoted: h.quoted,
            stripTabs: h.stripTabs,
            body,
            bodyStart,
            bodyEnd,
            terminated: true,
            addedNewline: false,
          });
          terminated = true;
          break;
        }
        this.changed = true;
        for (const p of pieces) this.emit(' '.repeat(p.to - p.from), p.from);
        body += line;
        if (hasNewline) {
          this.emit('\n', j);
          body += '\n';
        }
        this.i = hasNewline ? j + 1 : j;
      }
      if (!terminated) {
        // bash reads to the end of the input (with a warning); end the body there for tree-sitter
        const addedNewline = this.out.length > bodyStart && this.out[this.out.length - 1] !== '\n';
        if (addedNewline) this.emitAt('\n', src.length);
        const bodyEnd = this.out.length;
        this.emitAt(blank(h), src.length);
        this.heredocs.push({
          tokenStart: h.tokenStart,
          delimiter: h.delimiter,
          token: h.token,
          written: h.written,
          quoted: h.quoted,
          stripTabs: h.stripTabs,
          body,
          bodyStart,
          bodyEnd,
          terminated: false,
          addedNewline,
        });
      }
    }
    this.pending = [];
  }
}

/**
 * The text with `chars` inserted at `index` (attributed to the input offset there), for the
 * walker's repairs of tree-sitter misreadings (a `;` where it glued two lines into one command).
 */
export function insertAt(read: ReadText, index: number, chars: string): ReadText {
  const n = read.text.length;
  const base = read.map ?? Int32Array.from({ length: n + 1 }, (_, k) => k);
  const map = new Int32Array(n + 1 + chars.length);
  map.set(base.subarray(0, index), 0);
  map.fill(base[index]!, index, index + chars.length);
  map.set(base.subarray(index), index + chars.length);
  const breaks = new Int32Array(map.length);
  for (let k = 1; k < map.length; k++) breaks[k] = breaks[k - 1]! + (map[k] === map[k - 1]! + 1 ? 0 : 1);
  const shift = (at: number): number => (at >= index ? at + chars.length : at);
  return {
    text: read.text.slice(0, index) + chars + read.text.slice(index),
    map,
    breaks,
    heredocs: read.heredocs.map((h) => ({
      ...h,
      tokenStart: shift(h.tokenStart),
      bodyStart: shift(h.bodyStart),
      bodyEnd: shift(h.bodyEnd),
    })),
  };
}

/** Read a command text as bash's input reader would (see the module comment). */
export function readBash(source: string): ReadText {
  return new Reader(source).run();
}
