/**
 * Decoding of bash words to the literals bash passes to a program. A word is first read into
 * atoms — each character with how it was quoted, and opaque parts only known at run time
 * (`$HOME`, `$(…)`) — because brace expansion, tilde expansion and globbing look at the quoting
 * of every character; quote removal then joins the atoms' values. `"$HOME/.ssh"` reads
 * `$HOME/.ssh` and is dynamic.
 */
import type { SyntaxNode } from 'tree-sitter';
import type { Span, Word } from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import { walkTree } from './tree-sitter.js';

/** Node kinds a word may be built from; anything else is an unknown construct. */
const WORD_KINDS = new Set([
  'word',
  'raw_string',
  'string',
  'string_content',
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
  'array',
  'extglob_pattern',
  'regex',
  'variable_name',
  'special_variable_name',
  'heredoc_body',
  'file_descriptor',
  'test_operator',
  'subscript',
  'variable_assignment',
]);

/**
 * One character of a word, or an opaque run-time part. `u` unquoted, `e` escaped with a
 * backslash, `q` inside quotes (an empty `q` atom stands for `''` or `""`), `o` opaque.
 */
export interface Atom {
  readonly v: string;
  readonly k: 'u' | 'e' | 'q' | 'o';
}

export interface DecodedPart {
  text: string;
  dynamic: boolean;
  atoms: Atom[];
  /** Offset in the parsed text where `text` appears verbatim, or null when escapes or quotes differ. */
  exact: number | null;
}

export interface DecodeSink {
  /** A command or process substitution inside a word: its statements run first. */
  substitution(node: SyntaxNode): void;
  unknown(node: SyntaxNode): void;
  /** An expansion that evaluates text at run time (`$(( … ))`, `${x@P}`). */
  evaluates?(node: SyntaxNode): void;
  /** The output of a command substitution when it is known without running it, else null. */
  literal?(node: SyntaxNode): string | null;
  /** A word node holding what bash never puts in one word (an unescaped blank or operator). */
  misread?(node: SyntaxNode): void;
  /** The text of a node as the agent wrote it (tree-sitter's text may be the reader's rewrite). */
  original?(node: SyntaxNode): string;
  /**
   * Syntax nested deeper than PARSE_LIMITS.maxSyntaxDepth inside the word: what is below that
   * was not read (the word is then dynamic, and any substitution down there is not found).
   */
  tooDeep(node: SyntaxNode): void;
}

/**
 * Does a token's source hold a backquote or a `$(`, `${`, `$name` that bash would expand (not
 * escaped, not in single quotes)? Tree-sitter sometimes leaves them as plain text.
 */
export function hasUnparsedExpansion(raw: string): boolean {
  let single = false;
  let double = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (single) {
      if (c === "'") single = false;
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '"') double = !double;
    else if (c === "'" && !double) single = true;
    else if (c === '`') return true;
    else if (c === '$' && /[({A-Za-z_0-9@*#?$!-]/.test(raw[i + 1] ?? '')) return true;
  }
  return false;
}

/** An unescaped blank or operator character: bash ends a word there. */
const WORD_BREAK = /(?:^|[^\\])(?:\\\\)*[\s;&|<>()]/;

const ANSI_SIMPLE: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/**
 * `$'…'` contents (without the `$'` and `'`) → what bash produces: bytes (`\xff` is the byte
 * 0xff, `\u00ff` the character ÿ), read as UTF-8; a NUL ends the string (bash passes C
 * strings). `exact` is false when the bytes are not valid UTF-8: no JavaScript string is what
 * bash passes, so the word is dynamic.
 */
export function decodeAnsiC(body: string): string {
  return decodeAnsiCExact(body).text;
}

export function decodeAnsiCExact(body: string): { text: string; exact: boolean } {
  const bytes: number[] = [];
  const utf8 = (s: string): void => void bytes.push(...Buffer.from(s, 'utf8'));
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i === body.length - 1) {
      utf8(body.slice(i, i + (c.codePointAt(0)! > 0xffff ? 2 : 1)));
      if (c.codePointAt(0)! > 0xffff) i++;
      continue;
    }
    const n = body[++i]!;
    const simple = ANSI_SIMPLE[n];
    if (simple !== undefined) {
      utf8(simple);
    } else if (n >= '0' && n <= '7') {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) digits += body[++i];
      bytes.push(parseInt(digits, 8) & 0xff);
    } else if (n === 'x' && body[i + 1] === '{') {
      // `\x{HHH…}`: every hex digit, then an optional `}`; the low byte (none is NUL)
      i++;
      let value = 0;
      while (/[0-9a-fA-F]/.test(body[i + 1] ?? '')) value = (value * 16 + parseInt(body[++i]!, 16)) & 0xff;
      if (body[i + 1] === '}') i++;
      bytes.push(value);
    } else if (n === 'x') {
      let digits = '';
      while (digits.length < 2 && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) digits += body[++i];
      if (digits === '') utf8('\\x');
      else bytes.push(parseInt(digits, 16));
    } else if (n === 'u' || n === 'U') {
      const max = n === 'u' ? 4 : 8;
      let digits = '';
      while (digits.length < max && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) digits += body[++i];
      if (digits === '') utf8(`\\${n}`);
      else {
        const cp = parseInt(digits, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { text: '\ufffd', exact: false };
        utf8(String.fromCodePoint(cp));
      }
    } else if (n === 'c' && i + 1 < body.length) {
      // control characters: \c? is DEL, otherwise the letter's low five bits
      const x = body[++i]!;
      bytes.push(x === '?' ? 0x7f : x.toUpperCase().charCodeAt(0) & 0x1f);
    } else {
      utf8(`\\${n}`);
    }
  }
  const nul = bytes.indexOf(0);
  const kept = nul === -1 ? bytes : bytes.slice(0, nul);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(kept)), exact: true };
  } catch {
    return { text: new TextDecoder('utf-8').decode(Uint8Array.from(kept)), exact: false };
  }
}

/** Unquoted source text: `\x` is an escaped x, a backslash-newline disappears. */
function unquotedAtoms(raw: string): Atom[] {
  const atoms: Atom[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      if (n !== '\n') atoms.push({ v: n, k: 'e' });
    } else atoms.push({ v: c, k: 'u' });
  }
  return atoms;
}

/** Inside double quotes a backslash only escapes $ ` " \ and newline. */
function unescapeDoubleQuoted(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
}

function quotedAtoms(text: string): Atom[] {
  return [...text].map((v) => ({ v, k: 'q' as const }));
}

function textOf(atoms: readonly Atom[]): string {
  let s = '';
  for (const a of atoms) s += a.v;
  return s;
}

function opaque(node: SyntaxNode, sink: DecodeSink): DecodedPart {
  const text = sink.original?.(node) ?? node.text;
  return { text, dynamic: true, atoms: [{ v: text, k: 'o' }], exact: null };
}

/** `depth`: how many nodes of the word enclose this one (the decoding recurses once per level). */
export function decodeNode(node: SyntaxNode, sink: DecodeSink, depth = 0): DecodedPart {
  const type = node.type;
  if (depth > PARSE_LIMITS.maxSyntaxDepth) {
    sink.tooDeep(node);
    return opaque(node, sink);
  }
  if (!node.isNamed) {
    // anonymous tokens inside a word (`=` in `a=b`, a lone `$`) are literal text
    return { text: node.text, dynamic: false, atoms: unquotedAtoms(node.text), exact: node.startIndex };
  }
  if (!WORD_KINDS.has(type)) {
    sink.unknown(node);
    return opaque(node, sink);
  }
  switch (type) {
    case 'word':
    case 'number':
    case 'extglob_pattern':
    case 'regex':
    case 'file_descriptor':
    case 'test_operator':
    case 'brace_expression':
    case 'variable_name':
    case 'special_variable_name': {
      // a name written as a word (`unset x`, `local x`) is its source text
      if (
        node.namedChildCount > 0 &&
        (type === 'word' ||
          type === 'number' ||
          type === 'extglob_pattern' ||
          type === 'regex' ||
          type === 'file_descriptor' ||
          type === 'test_operator')
      ) {
        return concat(node, sink, depth);
      }
      const raw = node.text;
      if (type === 'word' && WORD_BREAK.test(raw)) sink.misread?.(node);
      // an expansion tree-sitter left inside a token (`case x in a\`cmd\`)`, `[[ x =~ \`cmd\` ]]`)
      // runs in bash: never take it as literal text
      else if (
        type !== 'variable_name' &&
        type !== 'special_variable_name' &&
        type !== 'brace_expression' &&
        hasUnparsedExpansion(raw)
      )
        sink.misread?.(node);
      const atoms = unquotedAtoms(raw);
      if (type === 'extglob_pattern') blanksInPattern(node, atoms, sink);
      const text = textOf(atoms);
      return { text, dynamic: false, atoms, exact: text === raw ? node.startIndex : null };
    }
    case 'raw_string': {
      const body = node.text.slice(1, -1);
      return {
        text: body,
        dynamic: false,
        atoms: body === '' ? [{ v: '', k: 'q' }] : quotedAtoms(body),
        exact: node.startIndex + 1,
      };
    }
    case 'string':
    case 'translated_string':
      return decodeString(node, sink, depth);
    case 'string_content': {
      const text = unescapeDoubleQuoted(node.text);
      return { text, dynamic: false, atoms: quotedAtoms(text), exact: text === node.text ? node.startIndex : null };
    }
    case 'ansi_c_string': {
      const raw = node.text;
      const { text, exact } = decodeAnsiCExact(raw.slice(2, -1));
      // bytes that are not UTF-8 cannot be spelled: bash passes something no string here is
      if (!exact) return { text, dynamic: true, atoms: [{ v: text, k: 'o' }], exact: null };
      return {
        text,
        dynamic: false,
        atoms: text === '' ? [{ v: '', k: 'q' }] : quotedAtoms(text),
        exact: text === raw.slice(2, -1) ? node.startIndex + 2 : null,
      };
    }
    case 'concatenation':
    case 'variable_assignment':
    case 'subscript':
      return concat(node, sink, depth);
    case 'command_substitution':
    case 'process_substitution':
      sink.substitution(node);
      return opaque(node, sink);
    case 'arithmetic_expansion':
      findSubstitutions(node, sink);
      sink.evaluates?.(node);
      return opaque(node, sink);
    case 'expansion':
      findSubstitutions(node, sink);
      if (/@P\}$/.test(node.text) || /^\$\{[#!]?[A-Za-z_][A-Za-z0-9_]*\[[^\]]*['"][^\]]*(?:\$\(|`)/.test(node.text))
        sink.evaluates?.(node);
      return opaque(node, sink);
    case 'simple_expansion':
    case 'array':
    case 'heredoc_body':
      findSubstitutions(node, sink);
      return opaque(node, sink);
    default:
      return opaque(node, sink);
  }
}

/**
 * Tree-sitter runs a pattern on past the blank after an escape (`[[ x == a\$ ]]` reads `a\$ `):
 * unescaped blanks at its end are not part of the word (removed from `atoms`), and one before
 * more text (outside an extglob's parentheses) ends the word to bash: the pattern was misread.
 */
function blanksInPattern(node: SyntaxNode, atoms: Atom[], sink: DecodeSink): void {
  const blank = (a: Atom): boolean => a.k === 'u' && /\s/.test(a.v);
  while (atoms.length > 0 && blank(atoms[atoms.length - 1]!)) atoms.pop();
  let parens = 0;
  for (const a of atoms) {
    if (a.k === 'u' && a.v === '(') parens++;
    else if (a.k === 'u' && a.v === ')') parens = Math.max(0, parens - 1);
    else if (parens === 0 && blank(a)) {
      sink.misread?.(node);
      return;
    }
  }
}

function decodeString(node: SyntaxNode, sink: DecodeSink, depth: number): DecodedPart {
  const atoms: Atom[] = [];
  let dynamic = false;
  let exact = true;
  let previousEnd = -1;
  const inner = node.type === 'translated_string' ? node.namedChild(0) : node;
  if (!inner) return { text: '', dynamic: false, atoms: [{ v: '', k: 'q' }], exact: null };
  const open = inner.startIndex + 1;
  const close = inner.endIndex - 1;
  const gap = (from: number, to: number): void => {
    atoms.push(...quotedAtoms(unescapeDoubleQuoted(inner.text.slice(from - inner.startIndex, to - inner.startIndex))));
  };
  for (const child of inner.children) {
    if (!child.isNamed) continue; // the quotes themselves
    // string_content drops leading/trailing whitespace-only gaps in some trees: keep the source
    if (previousEnd !== -1 && child.startIndex > previousEnd) gap(previousEnd, child.startIndex);
    else if (previousEnd === -1 && child.startIndex > open) gap(open, child.startIndex);
    previousEnd = child.endIndex;
    exact &&= child.type === 'string_content';
    const literal = child.type === 'command_substitution' ? (sink.literal?.(child) ?? null) : null;
    if (literal !== null) {
      // its commands still run (and are judged); the word's text is what they print
      sink.substitution(child);
      atoms.push(...quotedAtoms(literal));
      continue;
    }
    const part = decodeNode(child, sink, depth + 1);
    // inside double quotes every character is quoted, even what an expansion's node says
    for (const a of part.atoms) atoms.push(a.k === 'o' ? a : { v: a.v, k: 'q' });
    dynamic ||= part.dynamic;
    if (part.exact === null) exact = false;
  }
  if (previousEnd === -1 && close > open) gap(open, close);
  else if (previousEnd !== -1 && previousEnd < close) gap(previousEnd, close);
  const text = textOf(atoms);
  if (atoms.length === 0) atoms.push({ v: '', k: 'q' });
  const verbatim = exact && !dynamic && text === inner.text.slice(1, -1);
  return { text, dynamic, atoms, exact: verbatim ? open : null };
}

function concat(node: SyntaxNode, sink: DecodeSink, depth: number): DecodedPart {
  const atoms: Atom[] = [];
  let dynamic = false;
  let exact = true;
  let cursor = node.startIndex;
  const children = node.children;
  for (let k = 0; k < children.length; k++) {
    const child = children[k]!;
    // bytes between children that the grammar did not cover are literal source text
    if (child.startIndex > cursor)
      atoms.push(...unquotedAtoms(node.text.slice(cursor - node.startIndex, child.startIndex - node.startIndex)));
    cursor = child.endIndex;
    // `$"…"` (a translated string) arrives as a `$` token and a string: the `$` is not text
    if (
      !child.isNamed &&
      child.type === '$' &&
      children[k + 1]?.type === 'string' &&
      children[k + 1]!.startIndex === child.endIndex
    ) {
      atoms.push(...unquotedAtoms(child.text.slice(0, -1)));
      exact = false;
      continue;
    }
    const part = decodeNode(child, sink, depth + 1);
    atoms.push(...part.atoms);
    dynamic ||= part.dynamic;
    if (part.exact === null) exact = false;
  }
  if (node.endIndex > cursor) atoms.push(...unquotedAtoms(node.text.slice(cursor - node.startIndex)));
  const text = textOf(atoms);
  const verbatim = exact && !dynamic && text === node.text;
  return { text, dynamic, atoms, exact: verbatim ? node.startIndex : null };
}

/** The substitutions inside an expansion, which bash runs when it expands it (`${a:-$(id)}`). */
function findSubstitutions(node: SyntaxNode, sink: DecodeSink): void {
  const cut = walkTree(node.namedChildren, (child) => {
    if (child.type !== 'command_substitution' && child.type !== 'process_substitution') return child.namedChildren;
    sink.substitution(child);
    return [];
  });
  if (cut) sink.tooDeep(cut);
}

/** Unquoted `*`, `?` or a bracket expression `[…]`: pathname expansion may turn it into other words. */
export function hasGlob(atoms: readonly Atom[]): boolean {
  // from the right: where the next unquoted `]` is, and whether an opaque part comes first
  // (one pass, so a word of many `[` stays linear)
  let closeAfter = Infinity;
  let opaqueAfter = Infinity;
  const closes: number[] = new Array<number>(atoms.length);
  const opaques: number[] = new Array<number>(atoms.length);
  for (let j = atoms.length - 1; j >= 0; j--) {
    const b = atoms[j]!;
    if (b.k === 'o') opaqueAfter = j;
    if (b.k === 'u' && b.v === ']') closeAfter = j;
    closes[j] = closeAfter;
    opaques[j] = opaqueAfter;
  }
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i]!;
    if (a.k !== 'u') continue;
    if (a.v === '*' || a.v === '?') return true;
    // a bracket expression needs a closing `]` after at least one character (quoted ones count)
    if (a.v === '[' && i + 2 < atoms.length && closes[i + 2]! < opaques[i + 2]!) return true;
  }
  return false;
}

/**
 * An unquoted tilde prefix that bash replaces (`~`, `~/x`, `~user`, `~+`, `~-`): at the start
 * of the word, and after `=` or `:` in a word shaped like an assignment (`a=~/x`, `PATH=~/bin:~/b`).
 */
export function hasTildeExpansion(atoms: readonly Atom[], assignmentValue = false): boolean {
  const prefixAt = (i: number): boolean => {
    if (atoms[i]?.k !== 'u' || atoms[i]!.v !== '~') return false;
    for (let j = i + 1; j < atoms.length; j++) {
      const a = atoms[j]!;
      if (a.k === 'u' && (a.v === '/' || a.v === ':')) return true;
      if (a.k !== 'u') return false; // a quoted character in the prefix: no expansion
    }
    return true;
  };
  if (prefixAt(0)) return true;
  if (assignmentValue) {
    // in a value bash expands a tilde after every unquoted `:` too (PATH=~/bin:~/x)
    for (let i = 1; i < atoms.length; i++)
      if (atoms[i - 1]!.k === 'u' && atoms[i - 1]!.v === ':' && prefixAt(i)) return true;
    return false;
  }
  // a word shaped like an assignment (`NAME=`, `NAME+=`, `NAME[…]=`) expands a tilde after `=` too
  const plain = (i: number, v: string): boolean => atoms[i]?.k === 'u' && atoms[i]!.v === v;
  let i = 0;
  while (atoms[i]?.k === 'u' && /[A-Za-z0-9_]/.test(atoms[i]!.v) && !(i === 0 && /[0-9]/.test(atoms[i]!.v))) i++;
  if (i === 0) return false;
  if (plain(i, '[')) {
    while (i < atoms.length && !plain(i, ']')) i++;
    i++;
  }
  if (plain(i, '+')) i++;
  if (!plain(i, '=')) return false;
  const eq = i;
  for (let i = eq + 1; i < atoms.length; i++) {
    if ((i === eq + 1 || (atoms[i - 1]!.k === 'u' && atoms[i - 1]!.v === ':')) && prefixAt(i)) return true;
  }
  return false;
}

export { textOf as atomsText };

/**
 * The end (just past the closing parenthesis) of a `$(…)` whose `(` is at `open`, balancing
 * parentheses outside quotes; the end of the text when it never closes.
 */
export function substitutionEnd(text: string, open: number): number {
  let depth = 1;
  let quote: string | null = null;
  let j = open + 1;
  for (; j < text.length && depth > 0; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') j++;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') j++;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
  }
  return Math.min(j, text.length);
}

/**
 * The command texts of `$(…)` and backquoted substitutions inside text that bash evaluates
 * (an arithmetic expression, a subscript, a prompt string).
 */
export function embeddedCommands(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '(' && text[i + 2] !== '(') {
      const end = substitutionEnd(text, i + 1);
      out.push(text.slice(i + 2, text[end - 1] === ')' ? end - 1 : end));
      i = end - 1;
    } else if (text[i] === '`') {
      const end = text.indexOf('`', i + 1);
      out.push(text.slice(i + 1, end === -1 ? text.length : end));
      if (end === -1) break;
      i = end;
    }
  }
  return out.map((c) => c.trim()).filter((c) => c !== '');
}

export interface HeredocBody {
  /** The text the command reads, where it is static. */
  readonly text: string;
  /** An expansion or substitution makes part of it known only at run time. */
  readonly dynamic: boolean;
  /** Command substitutions (`$(…)` and backquoted): their offsets in the raw body and their text. */
  readonly substitutions: readonly { start: number; end: number; command: string }[];
}

/**
 * An unquoted here-document body: a backslash escapes only `$`, `` ` `` and `\\`; `$…`
 * expansions and `$(…)` or backquoted substitutions are performed.
 */
export function decodeHeredocBody(raw: string): HeredocBody {
  let text = '';
  let dynamic = false;
  const substitutions: { start: number; end: number; command: string }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length && '$`\\'.includes(raw[i + 1]!)) {
      text += raw[++i];
      continue;
    }
    if (c === '$' && raw[i + 1] === '(' && raw[i + 2] !== '(') {
      const end = substitutionEnd(raw, i + 1);
      substitutions.push({ start: i, end, command: raw.slice(i + 2, raw[end - 1] === ')' ? end - 1 : end) });
      dynamic = true;
      text += raw.slice(i, end);
      i = end - 1;
      continue;
    }
    if (c === '$' && /[A-Za-z_{(\[0-9@*#?$!-]/.test(raw[i + 1] ?? '')) dynamic = true;
    if (c === '`') {
      let command = '';
      let j = i + 1;
      for (; j < raw.length && raw[j] !== '`'; j++) {
        if (raw[j] === '\\' && j + 1 < raw.length && '$`\\'.includes(raw[j + 1]!)) j++;
        command += raw[j];
      }
      substitutions.push({ start: i, end: Math.min(j + 1, raw.length), command });
      dynamic = true;
      text += raw.slice(i, j + 1);
      i = j;
      continue;
    }
    text += c;
  }
  return { text, dynamic, substitutions };
}

// -------------------------------------------------------------------------------------------------
// decoded words

/** A decoded word plus what the walker needs to parse a payload it carries. */
export interface WordEx extends Word {
  /** Top-level offset where `text` appears verbatim, or null. */
  readonly exact: number | null;
  /** A command substitution produced part of the text. */
  readonly substituted: boolean;
  /** Dynamic only through a tilde prefix (`~/bin/tool`): the program's name is still known. */
  readonly tilde?: boolean;
  /** Shaped like an assignment, `NAME=…` with the name unquoted: one, before a command name. */
  readonly assignment?: boolean;
}

export function plainWord(w: WordEx | Word): Word {
  return { text: w.text, dynamic: w.dynamic, glob: w.glob, span: w.span };
}

export function joinSpan(a: Span, b: Span): Span {
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}

/** Only backslash-escaped characters: part of a word, though tree-sitter left them out of its nodes. */
export const ESCAPES = /^(?:\\[^\n])+$/;

/** Are two nodes parts of one word (touching, or separated only by escaped characters)? */
export function sameWord(prev: SyntaxNode, next: SyntaxNode, text: string): boolean {
  return next.startIndex === prev.endIndex || (text !== '' && ESCAPES.test(text.slice(prev.endIndex, next.startIndex)));
}

/** Unquoted source text as atoms: `\x` an escaped x. */
export function unquotedText(raw: string): Atom[] {
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
export function danglingExpansion(atoms: readonly Atom[]): boolean {
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

/** The name a variable_assignment node assigns, or null when it is not a name bash would assign. */
export function assignmentName(node: SyntaxNode): string | null {
  const target = node.child(0);
  const name = target?.type === 'subscript' ? target.child(0) : target;
  return name && name.type === 'variable_name' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.text) ? name.text : null;
}

/** `NAME=`, `NAME+=` or `NAME[…]=` at the start, the name unquoted. */
export function isAssignmentWord(atoms: readonly Atom[]): boolean {
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
export function backquoted(text: string, inDoubleQuotes = false): string[] {
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
export function insideDoubleQuotes(node: SyntaxNode): boolean {
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
