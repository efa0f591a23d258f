/**
 * Reading bash's xtrace output back into what bash executed. The oracle sets
 * `PS4=$'\x01+ '`: bash repeats the first character of PS4 once per nesting level (eval,
 * command substitution, subshells), so every record starts with one or more \x01 and `+ `.
 *
 * Bash's quoting in the trace (print_cmd.c, xtrace_print_word_list): an empty word is `''`, a
 * word with shell metacharacters (space, newline, quotes, `$`, `*`, a leading `~` …) is
 * single-quoted with `'\''` for quotes (raw bytes inside, newlines included), a word with
 * non-printable bytes and no metacharacters is `$'…'` with C escapes, anything else is raw.
 * `[[ … ]]`, `(( … ))`, `for NAME in …` and `case WORD in` are printed raw, unquoted.
 *
 * Everything here works on "byte strings": the trace is read as latin1, so one character is
 * one byte, and ANSI-C escapes produce bytes. Compare with `toBytes(irText)`.
 */

export const TRACE_MARK = '\x01';

export type TraceRecord =
  | { readonly kind: 'command'; readonly depth: number; readonly argv: readonly string[]; readonly raw: string }
  /** `name=value` from an assignment; a single-word command such as `'a=b'` prints the same. */
  | {
      readonly kind: 'assignment';
      readonly depth: number;
      /** Without a subscript: `a[1]=x` is named `a`. */
      readonly name: string;
      readonly append: boolean;
      readonly value: string;
      /** The whole word, as a command named `a=b` would have it. */
      readonly word: string;
      readonly raw: string;
    }
  /** One term of `[[ … ]]` as bash evaluated it, the text between `[[ ` and ` ]]`. */
  | { readonly kind: 'cond'; readonly depth: number; readonly text: string; readonly raw: string }
  /** The expression of `(( … ))` after parameter expansion, between `((` and `))`. */
  | { readonly kind: 'arith'; readonly depth: number; readonly text: string; readonly raw: string }
  /** Printed once per iteration, with the list as written in the source (not expanded). */
  | { readonly kind: 'for'; readonly depth: number; readonly name: string; readonly raw: string }
  | { readonly kind: 'case'; readonly depth: number; readonly raw: string }
  /** Text that does not start with the PS4 mark: a bug here or output we did not expect. */
  | { readonly kind: 'garbage'; readonly depth: 0; readonly raw: string };

/** UTF-16 text → the byte string bash would hold for it (UTF-8, one char per byte). */
export function toBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string → readable text (invalid UTF-8 shows as U+FFFD). */
export function fromBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]\n]*\])?(\+?)=/;
const FOR_HEAD = /^for ([A-Za-z_][A-Za-z0-9_]*) in /;

/** Parse a whole trace file (as a latin1 string) into records. */
export function parseTrace(trace: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  let pos = 0;
  while (pos < trace.length) {
    let depth = 0;
    while (trace[pos + depth] === TRACE_MARK) depth++;
    if (depth === 0 || trace.slice(pos + depth, pos + depth + 2) !== '+ ') {
      const end = lineEnd(trace, pos);
      out.push({ kind: 'garbage', depth: 0, raw: trace.slice(pos, end) });
      pos = end + 1;
      continue;
    }
    const start = pos + depth + 2;
    const rest = trace.slice(start, start + 8);
    if (rest.startsWith('[[ ')) {
      const end = rawEnd(trace, start, ' ]]');
      const raw = trace.slice(start, end);
      out.push({ kind: 'cond', depth, text: raw.slice(3, raw.endsWith(' ]]') ? -3 : undefined), raw });
      pos = end + 1;
      continue;
    }
    if (rest.startsWith('(( ')) {
      const end = rawEnd(trace, start, ' ))');
      const raw = trace.slice(start, end);
      out.push({ kind: 'arith', depth, text: raw.slice(2, raw.endsWith('))') ? -2 : undefined), raw });
      pos = end + 1;
      continue;
    }
    const head = trace.slice(start, lineEnd(trace, start));
    const forHead = FOR_HEAD.exec(head);
    if (forHead) {
      // the list is source text and may span lines: it ends where the next record starts
      const end = nextRecord(trace, start);
      out.push({ kind: 'for', depth, name: forHead[1]!, raw: trace.slice(start, end) });
      pos = end + 1;
      continue;
    }
    if (head.startsWith('case ')) {
      // the word is source text too (`case $(a\nb) in`)
      const end = rawEnd(trace, start, ' in');
      out.push({ kind: 'case', depth, raw: trace.slice(start, end) });
      pos = end + 1;
      continue;
    }
    const { words, end } = readWords(trace, start);
    const raw = trace.slice(start, end);
    const assignment = words.length === 1 ? ASSIGNMENT.exec(raw) : null;
    if (assignment) {
      out.push({
        kind: 'assignment',
        depth,
        name: assignment[1]!,
        append: assignment[3] === '+',
        value: words[0]!.slice(assignment[0].length),
        word: words[0]!,
        raw,
      });
    } else {
      out.push({ kind: 'command', depth, argv: words, raw });
    }
    pos = end + 1;
  }
  return out;
}

function lineEnd(s: string, from: number): number {
  const i = s.indexOf('\n', from);
  return i === -1 ? s.length : i;
}

/** Raw records end at the first line that ends with `close`; else at the line's end. */
function rawEnd(s: string, from: number, close: string): number {
  let i = from;
  for (;;) {
    const end = lineEnd(s, i);
    if (s.slice(end - close.length, end) === close || end === s.length) return end;
    if (s[end + 1] === TRACE_MARK) return lineEnd(s, from);
    i = end + 1;
  }
}

function nextRecord(s: string, from: number): number {
  let i = from;
  for (;;) {
    const end = lineEnd(s, i);
    if (end === s.length || s[end + 1] === TRACE_MARK) return end;
    i = end + 1;
  }
}

/** Words of one record up to the unquoted newline that ends it. */
function readWords(s: string, from: number): { words: string[]; end: number } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = from;
  const finish = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\n') break;
    if (c === ' ') {
      finish();
      i++;
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1);
      const stop = close === -1 ? s.length : close;
      word += s.slice(i + 1, stop);
      inWord = true;
      i = stop + 1;
    } else if (c === '$' && s[i + 1] === "'") {
      const { text, next } = readAnsiC(s, i + 2);
      word += text;
      inWord = true;
      i = next;
    } else if (c === '\\' && i + 1 < s.length) {
      word += s[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  finish();
  return { words, end: Math.min(i, s.length) };
}

const ANSI_SIMPLE: Readonly<Record<string, string>> = {
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

/** The body of `$'…'` from `from` (after the quote) to the closing quote, decoded to bytes. */
export function readAnsiC(s: string, from: number): { text: string; next: number } {
  let text = '';
  let i = from;
  while (i < s.length && s[i] !== "'") {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      text += c;
      i++;
      continue;
    }
    const n = s[i + 1]!;
    i += 2;
    const simple = ANSI_SIMPLE[n];
    if (simple !== undefined) {
      text += simple;
    } else if (/[0-7]/.test(n)) {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(s[i] ?? '')) digits += s[i++];
      text += String.fromCharCode(parseInt(digits, 8) & 0xff);
    } else if (n === 'x') {
      let digits = '';
      while (digits.length < 2 && /[0-9a-fA-F]/.test(s[i] ?? '')) digits += s[i++];
      text += digits === '' ? '\\x' : String.fromCharCode(parseInt(digits, 16));
    } else if (n === 'c' && i < s.length) {
      text += String.fromCharCode(s[i++]!.toUpperCase().charCodeAt(0) & 0x1f);
    } else {
      // bash's quoting never writes other escapes; keep them visible rather than guess
      text += `\\${n}`;
    }
  }
  return { text, next: i + 1 };
}
