/**
 * Brace expansion as bash performs it (braces.c), on a word's atoms: only unquoted braces,
 * commas and `..` are syntax, so `{'-delete',-name,x}` is three words (`-delete -name x`) and
 * `{'a,b'}` stays one. Comma lists nest (`{a,{b,c}}`); sequences are integers with optional
 * zero padding and step (`{01..10..3}`) or single letters (`{a..e}`). A `{` with nothing to
 * expand stays literal. Words bash drops (an unquoted empty result, `{,a}` → `a`) are dropped.
 */
import type { Atom } from './decode.js';
import { PARSE_LIMITS } from './limits.js';

/** More words than this and the expansion is not spelled out (the word is then dynamic). */
export const MAX_BRACE_WORDS = 1024;

export class TooManyWords extends Error {}

/**
 * Comma lists nested more than PARSE_LIMITS.maxSyntaxDepth deep (`{a,{b,{c,…}}}`): the expansion
 * recurses once per level, so it is not spelled out (the word is then dynamic, and too deep).
 */
export class TooDeep extends Error {}

const isSyntax = (a: Atom | undefined, c: string): boolean => a !== undefined && a.k === 'u' && a.v === c;
const blank = (a: Atom | undefined): boolean =>
  a === undefined || (a.k === 'u' && (a.v === ' ' || a.v === '\t' || a.v === '\n'));

/**
 * From `i`, the index of the first atom that is `satisfy` at nesting level 0 (for `}` only
 * once a top-level comma or `..` was seen), or -1.
 */
function gobble(atoms: readonly Atom[], i: number, satisfy: '{' | '}' | ','): number {
  let level = 0;
  let commas = satisfy === '}' ? 0 : 1;
  for (; i < atoms.length; i++) {
    const a = atoms[i]!;
    if (a.k !== 'u') continue;
    if (a.v === satisfy && level === 0 && commas > 0) {
      // an open brace surrounded by whitespace, or followed by a close brace, is not one
      if (a.v === '{' && (i === 0 || blank(atoms[i - 1])) && (blank(atoms[i + 1]) || isSyntax(atoms[i + 1], '}')))
        continue;
      return i;
    }
    if (a.v === '{') level++;
    else if (a.v === '}' && level > 0) level--;
    else if (satisfy === '}' && level === 0) {
      if (a.v === ',') commas++;
      else if (a.v === '.' && isSyntax(atoms[i + 1], '.') && !isSyntax(atoms[i + 2], '}')) commas++;
    }
  }
  return -1;
}

function concatAll(left: Atom[][], right: Atom[][]): Atom[][] {
  // bash short-circuits a side that is one empty string
  if (left.length === 1 && left[0]!.length === 0) return right;
  if (right.length === 1 && right[0]!.length === 0) return left;
  const out: Atom[][] = [];
  for (const l of left) for (const r of right) out.push([...l, ...r]);
  if (out.length > MAX_BRACE_WORDS) throw new TooManyWords();
  return out;
}

/** The first open brace in `atoms` that starts a valid expansion, and its closing brace. */
function findBraces(atoms: readonly Atom[]): { open: number; close: number } | null {
  for (let i = 0; ; i++) {
    const open = gobble(atoms, i, '{');
    if (open === -1) return null;
    const close = gobble(atoms, open + 1, '}');
    if (close !== -1) return { open, close };
    i = open;
  }
}

/**
 * A word is a preamble, a brace expression and a postamble, in which the same is looked for
 * again: a loop over the postambles (a word may hold thousands of brace expressions), recursion
 * only into nested comma lists, `depth` of them around this text.
 */
function expand(atoms: readonly Atom[], depth: number): Atom[][] {
  if (depth > PARSE_LIMITS.maxSyntaxDepth) throw new TooDeep();
  // the words of the text before `rest`, each to be followed by each word `rest` becomes
  let result: Atom[][] = [[]];
  let rest = atoms;
  for (;;) {
    const braces = findBraces(rest);
    if (braces === null) return concatAll(result, [[...rest]]);
    const { open, close } = braces;
    const amble = rest.slice(open + 1, close);
    const postamble = rest.slice(close + 1);
    let tack: Atom[][] | null;
    // bash looks for a comma skipping only backslash-escaped characters, not quoted ones
    if (amble.some((a) => a.k !== 'e' && a.k !== 'o' && a.v === ',')) tack = expandAmble(amble, depth);
    else {
      tack = sequence(amble);
      if (tack === null) {
        if (postamble.length === 0) return concatAll(result, [[...rest]]);
        tack = [rest.slice(open, close + 1)];
      }
    }
    result = concatAll(concatAll(result, [rest.slice(0, open)]), tack);
    if (postamble.length === 0) return result;
    rest = postamble;
  }
}

function expandAmble(amble: readonly Atom[], depth: number): Atom[][] {
  const out: Atom[][] = [];
  let start = 0;
  for (;;) {
    const comma = gobble(amble, start, ',');
    const end = comma === -1 ? amble.length : comma;
    out.push(...expand(amble.slice(start, end), depth + 1));
    if (out.length > MAX_BRACE_WORDS) throw new TooManyWords();
    if (comma === -1) return out;
    start = comma + 1;
  }
}

/** `x..y[..incr]` of integers or single letters; null when it is not one. */
function sequence(amble: readonly Atom[]): Atom[][] | null {
  if (amble.some((a) => a.k !== 'u')) return null; // quoted characters make it literal text
  const text = amble.map((a) => a.v).join('');
  const m = /^([+-]?\d+|[A-Za-z])\.\.([+-]?\d+|[A-Za-z])(?:\.\.([+-]?\d+))?$/.exec(text);
  if (!m) return null;
  const [, lhs, rhs, step] = m as unknown as [string, string, string, string | undefined];
  const letters = /^[A-Za-z]$/.test(lhs);
  if (letters !== /^[A-Za-z]$/.test(rhs)) return null;
  let incr = step === undefined ? 1 : Math.abs(Number(step));
  if (incr === 0) incr = 1;
  if (letters) {
    const from = lhs.charCodeAt(0);
    const to = rhs.charCodeAt(0);
    const out: Atom[][] = [];
    for (let n = from; from <= to ? n <= to : n >= to; n += from <= to ? incr : -incr) {
      const v = String.fromCharCode(n);
      // a generated backslash is taken as an escape by the quote removal that follows: not
      // spelled out here, so the word is dynamic
      out.push([{ v, k: v === '\\' ? 'o' : 'u' }]);
    }
    return out;
  }
  const from = Number(lhs);
  const to = Number(rhs);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || Math.abs(to - from) / incr > MAX_BRACE_WORDS)
    throw new TooManyWords();
  // zero padding: a term written with a leading zero sets the width of every term
  let width = 0;
  const padded = (t: string): boolean =>
    (t.length > 1 && t[0] === '0') || (t.length > 2 && t[0] === '-' && t[1] === '0');
  if (padded(lhs) || padded(rhs)) width = Math.max(lhs.length, rhs.length);
  const out: Atom[][] = [];
  for (let n = from; from <= to ? n <= to : n >= to; n += from <= to ? incr : -incr) {
    const s =
      width > 0 ? (n < 0 ? `-${String(-n).padStart(width - 1, '0')}` : String(n).padStart(width, '0')) : String(n);
    out.push([...s].map((v) => ({ v, k: 'u' as const })));
  }
  return out;
}

/**
 * The words one word's atoms become. Throws TooManyWords past MAX_BRACE_WORDS, TooDeep past
 * PARSE_LIMITS.maxSyntaxDepth nested lists. An unquoted empty result is dropped, as bash drops it.
 */
export function braceExpand(atoms: readonly Atom[]): Atom[][] {
  if (!atoms.some((a) => a.k === 'u' && a.v === '{')) return [[...atoms]];
  const words = expand(atoms, 0);
  if (words.length === 1) return words;
  return words.filter((w) => w.length > 0);
}
