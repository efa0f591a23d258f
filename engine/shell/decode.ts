/**
 * Decoding of bash words to the literals bash passes to a program: quotes removed, escapes
 * resolved, ANSI-C strings decoded. Parts only known at run time make the word dynamic and are
 * kept as their source text, so `"$HOME/.ssh"` reads `$HOME/.ssh`.
 */
import type { SyntaxNode } from 'tree-sitter';

/** Node kinds a word may be built from; anything else is an unknown construct. */
const WORD_KINDS = new Set([
  'word', 'raw_string', 'string', 'string_content', 'ansi_c_string', 'translated_string', 'number', 'concatenation',
  'simple_expansion', 'expansion', 'command_substitution', 'process_substitution', 'arithmetic_expansion',
  'brace_expression', 'array', 'extglob_pattern', 'regex', 'variable_name', 'special_variable_name', 'heredoc_body',
  'file_descriptor', 'test_operator',
]);

export interface DecodedPart {
  text: string;
  dynamic: boolean;
  /** Unquoted source text, for glob and brace detection. */
  unquoted: string;
  /** Offset in the parsed text where `text` appears verbatim, or null when escapes or quotes differ. */
  exact: number | null;
}

export interface DecodeSink {
  /** A command or process substitution inside a word: its statements run first. */
  substitution(node: SyntaxNode): void;
  unknown(node: SyntaxNode): void;
}

const ANSI_SIMPLE: Record<string, string> = {
  a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?',
};

/** `$'…'` contents (without the `$'` and `'`) → the bytes bash produces, as a string. */
export function decodeAnsiC(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i === body.length - 1) {
      out += c;
      continue;
    }
    const n = body[++i]!;
    const simple = ANSI_SIMPLE[n];
    if (simple !== undefined) {
      out += simple;
    } else if (n >= '0' && n <= '7') {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) digits += body[++i];
      out += String.fromCharCode(parseInt(digits, 8) & 0xff);
    } else if (n === 'x' || n === 'u' || n === 'U') {
      const max = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      let digits = '';
      while (digits.length < max && /[0-9a-fA-F]/.test(body[i + 1] ?? '')) digits += body[++i];
      if (digits === '') out += `\\${n}`;
      else {
        const cp = parseInt(digits, 16);
        out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
    } else if (n === 'c' && i + 1 < body.length) {
      out += String.fromCharCode(body[++i]!.toUpperCase().charCodeAt(0) & 0x1f);
    } else {
      out += `\\${n}`;
    }
  }
  return out;
}

/** Backslash escapes of an unquoted word: `\x` → `x`, backslash-newline removed. */
function unescapeUnquoted(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(\n|.)/gs, (_m, c: string) => (c === '\n' ? '' : c));
}

/** Inside double quotes a backslash only escapes $ ` " \ and newline. */
function unescapeDoubleQuoted(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
}

export function decodeNode(node: SyntaxNode, sink: DecodeSink): DecodedPart {
  const type = node.type;
  if (!node.isNamed) {
    // anonymous tokens inside a word (`=` in `a=b`, a lone `$`) are literal text
    return { text: node.text, dynamic: false, unquoted: node.text, exact: node.startIndex };
  }
  if (!WORD_KINDS.has(type)) {
    sink.unknown(node);
    return { text: node.text, dynamic: true, unquoted: '', exact: null };
  }
  switch (type) {
    case 'word':
    case 'number':
    case 'extglob_pattern':
    case 'regex':
    case 'file_descriptor':
    case 'test_operator': {
      if (node.namedChildCount > 0) return concat(node, sink);
      const raw = node.text;
      const text = unescapeUnquoted(raw);
      return { text, dynamic: false, unquoted: raw, exact: text === raw ? node.startIndex : null };
    }
    case 'raw_string': {
      const raw = node.text;
      return { text: raw.slice(1, -1), dynamic: false, unquoted: '', exact: node.startIndex + 1 };
    }
    case 'string':
    case 'translated_string':
      return decodeString(node, sink);
    case 'string_content': {
      const text = unescapeDoubleQuoted(node.text);
      return { text, dynamic: false, unquoted: '', exact: text === node.text ? node.startIndex : null };
    }
    case 'ansi_c_string': {
      const raw = node.text;
      const text = decodeAnsiC(raw.slice(2, -1));
      return { text, dynamic: false, unquoted: '', exact: text === raw.slice(2, -1) ? node.startIndex + 2 : null };
    }
    case 'concatenation':
      return concat(node, sink);
    case 'command_substitution':
    case 'process_substitution':
      sink.substitution(node);
      return { text: node.text, dynamic: true, unquoted: '', exact: null };
    case 'simple_expansion':
    case 'expansion':
    case 'arithmetic_expansion':
    case 'array':
    case 'heredoc_body':
      findSubstitutions(node, sink);
      return { text: node.text, dynamic: true, unquoted: '', exact: null };
    case 'brace_expression':
      return { text: node.text, dynamic: false, unquoted: node.text, exact: node.startIndex };
    case 'variable_name':
    case 'special_variable_name':
      return { text: node.text, dynamic: true, unquoted: '', exact: null };
    default:
      sink.unknown(node);
      return { text: node.text, dynamic: true, unquoted: '', exact: null };
  }
}

function decodeString(node: SyntaxNode, sink: DecodeSink): DecodedPart {
  let text = '';
  let dynamic = false;
  let exact = true;
  let previousEnd = -1;
  const inner = node.type === 'translated_string' ? node.namedChild(0) : node;
  if (!inner) return { text: '', dynamic: false, unquoted: '', exact: null };
  const open = inner.startIndex + 1;
  const close = inner.endIndex - 1;
  for (const child of inner.children) {
    if (!child.isNamed) continue; // the quotes themselves
    // string_content drops leading/trailing whitespace-only gaps in some trees: keep the source
    if (previousEnd !== -1 && child.startIndex > previousEnd) {
      text += unescapeDoubleQuoted(inner.text.slice(previousEnd - inner.startIndex, child.startIndex - inner.startIndex));
    } else if (previousEnd === -1 && child.startIndex > open) {
      text += unescapeDoubleQuoted(inner.text.slice(1, child.startIndex - inner.startIndex));
    }
    const part = decodeNode(child, sink);
    text += part.text;
    dynamic ||= part.dynamic;
    if (part.exact === null) exact = false;
    previousEnd = child.endIndex;
  }
  if (previousEnd === -1 && close > open) text = unescapeDoubleQuoted(inner.text.slice(1, -1));
  else if (previousEnd !== -1 && previousEnd < close) text += unescapeDoubleQuoted(inner.text.slice(previousEnd - inner.startIndex, -1));
  const verbatim = exact && !dynamic && text === inner.text.slice(1, -1);
  return { text, dynamic, unquoted: '', exact: verbatim ? open : null };
}

function concat(node: SyntaxNode, sink: DecodeSink): DecodedPart {
  let text = '';
  let unquoted = '';
  let dynamic = false;
  let exact = true;
  let cursor = node.startIndex;
  for (const child of node.children) {
    // bytes between children that the grammar did not cover are literal source text
    if (child.startIndex > cursor) {
      const gap = node.text.slice(cursor - node.startIndex, child.startIndex - node.startIndex);
      text += unescapeUnquoted(gap);
      unquoted += gap;
    }
    const part = decodeNode(child, sink);
    text += part.text;
    unquoted += part.unquoted === '' ? '\u0000' : part.unquoted; // a quoted part breaks glob runs
    dynamic ||= part.dynamic;
    if (part.exact === null) exact = false;
    cursor = child.endIndex;
  }
  const verbatim = exact && !dynamic && text === node.text;
  return { text, dynamic, unquoted, exact: verbatim ? node.startIndex : null };
}

function findSubstitutions(node: SyntaxNode, sink: DecodeSink): void {
  for (const child of node.namedChildren) {
    if (child.type === 'command_substitution' || child.type === 'process_substitution') sink.substitution(child);
    else if (child.namedChildCount > 0) findSubstitutions(child, sink);
  }
}

/** Unquoted, unescaped `*`, `?`, `[…]` or a brace expansion `{a,b}` / `{1..3}`. */
export function hasGlob(unquoted: string): boolean {
  if (unquoted === '') return false;
  const plain = unquoted.replace(/\\./gs, '\u0000');
  if (/[*?]/.test(plain)) return true;
  if (/\[[^\]\u0000]*\]/.test(plain)) return true;
  return /\{[^{}\u0000]*(?:,|\.\.)[^{}\u0000]*\}/.test(plain);
}
