/**
 * Whitelist patterns: a program and an argv pattern for ONE segment, with typed placeholders.
 * Never a prefix of the raw string: every argument must be accounted for by the pattern.
 *
 *   git log [<flags:--oneline|--stat|-p>...] [-n <int>] [<branch>]
 *   npm run build|lint|test
 *   mkdir [-p] <path:project>...
 *
 * Grammar: `[…]` optional, `X...` one or more, `a|b` one of these (literal words or
 * placeholders: `<flags:-l|-a>|<path>`), `<type>` or `<type:arg>` one word of that type.
 * In a flag list, `#` stands for digits and `*` for any text (`-n#`, `--format=*`).
 * Placeholders never match dynamic or globbing words.
 */
import type { Word } from '../shell/ir.js';

export type PlaceholderType = 'path' | 'file' | 'int' | 'word' | 'branch' | 'url' | 'flags' | 'any' | 'name';
export const PLACEHOLDER_TYPES: readonly PlaceholderType[] = ['path', 'file', 'int', 'word', 'branch', 'url', 'flags', 'any', 'name'];

type Atom =
  | { kind: 'literal'; word: string }
  | { kind: 'placeholder'; type: PlaceholderType; arg: string | null; flags: readonly RegExp[] };

type Node =
  | { kind: 'alt'; options: readonly Atom[] }
  | { kind: 'optional'; body: readonly Node[] }
  | { kind: 'repeat'; node: Node };

export interface CompiledPattern {
  readonly source: string;
  /** The program name, or a path when the pattern names one (`./gradlew`). */
  readonly program: string;
  readonly nodes: readonly Node[];
}

export class PatternError extends Error {}

/**
 * Whitespace separates chunks; `[` and `]` stand alone; `<…>` is kept whole; `'…'` is a literal
 * word that may hold spaces and pattern characters (`''` inside is one quote).
 */
function tokenize(source: string): string[] {
  const tokens: string[] = [];
  let current = '';
  const flush = (): void => {
    if (current === '') return;
    // `X...` is X repeated; a quoted literal ending in dots ends with its quote, so it is not
    if (current.length > 3 && current.endsWith('...')) tokens.push(current.slice(0, -3), '...');
    else tokens.push(current);
    current = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "'") {
      let end = i + 1;
      for (;;) {
        end = source.indexOf("'", end);
        if (end === -1) throw new PatternError(`unclosed quote in ${JSON.stringify(source)}`);
        if (source[end + 1] === "'") {
          end += 2;
          continue;
        }
        break;
      }
      current += source.slice(i, end + 1);
      i = end;
    } else if (c === '<') {
      const end = source.indexOf('>', i);
      if (end === -1) throw new PatternError(`unclosed "<" in ${JSON.stringify(source)}`);
      current += source.slice(i, end + 1);
      i = end;
    } else if (/\s/.test(c)) flush();
    else if (c === '[' || c === ']') {
      flush();
      tokens.push(c);
    } else current += c;
  }
  flush();
  return tokens;
}

/** Split a chunk on `|` outside `<…>` and quotes. */
function alternatives(chunk: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const c of chunk) {
    if (c === "'") quoted = !quoted;
    if (!quoted && c === '<') depth++;
    if (!quoted && c === '>') depth--;
    if (c === '|' && depth === 0 && !quoted) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

/** A word as a pattern literal: bare when it can be, else quoted. */
export function patternLiteral(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./#*^~{}-]+$/.test(word) && !word.endsWith('...') && word !== '' ? word : `'${word.replace(/'/g, "''")}'`;
}

export function compilePattern(source: string): CompiledPattern {
  const tokens = tokenize(source.trim());
  const program = tokens.shift();
  if (!program || /^[[<]|\|/.test(program) || program === '...') throw new PatternError('a pattern starts with the program name');
  let i = 0;
  const seq = (closing: boolean): Node[] => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t === ']') {
        if (!closing) throw new PatternError('unmatched "]"');
        i++;
        return nodes;
      }
      if (t === '...') {
        const prev = nodes.pop();
        if (!prev) throw new PatternError('"..." must follow an element');
        nodes.push({ kind: 'repeat', node: prev });
        i++;
        continue;
      }
      i++;
      if (t === '[') nodes.push({ kind: 'optional', body: seq(true) });
      else nodes.push({ kind: 'alt', options: alternatives(t).map(atom) });
    }
    if (closing) throw new PatternError('missing "]"');
    return nodes;
  };
  const nodes = seq(false);
  return { source, program, nodes };
}

function flagRegex(flag: string): RegExp {
  const body = flag.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/#/g, '\\d+').replace(/\*/g, '.+');
  return new RegExp(`^${body}$`);
}

function atom(text: string): Atom {
  if (text === '') throw new PatternError('empty alternative');
  if (text.startsWith("'")) {
    if (text.length < 2 || !text.endsWith("'")) throw new PatternError(`cannot read ${JSON.stringify(text)}`);
    return { kind: 'literal', word: text.slice(1, -1).replace(/''/g, "'") };
  }
  if (!text.startsWith('<')) return { kind: 'literal', word: text };
  if (!text.endsWith('>')) throw new PatternError(`cannot read ${JSON.stringify(text)}`);
  const inner = text.slice(1, -1);
  const colon = inner.indexOf(':');
  const type = (colon === -1 ? inner : inner.slice(0, colon)) as PlaceholderType;
  const arg = colon === -1 ? null : inner.slice(colon + 1);
  if (!PLACEHOLDER_TYPES.includes(type)) throw new PatternError(`unknown placeholder type <${type}>`);
  if (type === 'flags' && !arg) throw new PatternError('<flags:…> lists the allowed flags');
  if ((type === 'path' || type === 'file') && arg !== null && arg !== 'project' && arg !== 'any') {
    throw new PatternError(`<${type}:${arg}>: the scope is "project" or "any"`);
  }
  const flags = type === 'flags' ? arg!.split('|').map((f) => {
    if (!f.startsWith('-')) throw new PatternError(`<flags:…>: "${f}" is not a flag`);
    return flagRegex(f);
  }) : [];
  return { kind: 'placeholder', type, arg, flags };
}

function isStatic(w: Word): boolean {
  return !w.dynamic && !w.glob;
}

function inProject(path: string): boolean {
  if (path.startsWith('/') || path.startsWith('~')) return false;
  let depth = 0;
  for (const part of path.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return false;
  }
  return true;
}

function flagAllowed(text: string, allowed: readonly RegExp[]): boolean {
  if (allowed.some((re) => re.test(text))) return true;
  // a bundle of short flags, each allowed on its own (`-sb` when -s and -b are)
  if (/^-[A-Za-z]{2,}$/.test(text)) return [...text.slice(1)].every((c) => allowed.some((re) => re.test(`-${c}`)));
  return false;
}

function matchPlaceholder(node: Extract<Atom, { kind: 'placeholder' }>, w: Word): boolean {
  if (!isStatic(w)) return false;
  const t = w.text;
  switch (node.type) {
    case 'flags':
      return t.startsWith('-') && flagAllowed(t, node.flags);
    case 'int':
      return /^\d+$/.test(t);
    case 'word':
      return t.length > 0 && !t.startsWith('-');
    case 'name':
      // a target or subcommand name: no option, no absolute path, no VAR=value
      return /^[A-Za-z0-9_][A-Za-z0-9._:/@+-]*$/.test(t);
    case 'branch':
      // refs and revision ranges: main, origin/main, HEAD~2, v1.2.0, main...feature
      return /^[A-Za-z0-9_][A-Za-z0-9._/@^~{}-]*$/.test(t) && !t.endsWith('.lock');
    case 'url':
      return /^https?:\/\/[^\s]+$/.test(t);
    case 'path':
    case 'file':
      if (t.length === 0 || t.startsWith('-')) return false;
      return node.arg === 'project' ? inProject(t) : true;
    case 'any':
      return true;
  }
}

/** Backtracking steps before a match is abandoned (and so not whitelisted). */
const STEP_BUDGET = 100_000;

/** Does the whole argv (after the program) match the pattern? */
export function matchArgs(pattern: CompiledPattern, args: readonly Word[]): boolean {
  let steps = 0;
  // continuation-passing match; `k` continues with the rest of the sequence
  const seq = (nodes: readonly Node[], ni: number, wi: number, k: (wi: number) => boolean): boolean => {
    if (++steps > STEP_BUDGET) return false;
    if (ni === nodes.length) return k(wi);
    return one(nodes[ni]!, wi, (w) => seq(nodes, ni + 1, w, k));
  };
  const one = (node: Node, wi: number, k: (wi: number) => boolean): boolean => {
    if (++steps > STEP_BUDGET) return false;
    switch (node.kind) {
      case 'alt': {
        const w = args[wi];
        return w !== undefined && node.options.some((a) => matchAtom(a, w)) && k(wi + 1);
      }
      case 'optional':
        return seq(node.body, 0, wi, k) || k(wi);
      case 'repeat': {
        // one or more; a body that consumed nothing cannot repeat
        const loop = (w: number): boolean => one(node.node, w, (after) => after > w && (k(after) || loop(after)));
        return loop(wi);
      }
    }
  };
  return seq(pattern.nodes, 0, 0, (wi) => wi === args.length) && steps <= STEP_BUDGET;
}

function matchAtom(a: Atom, w: Word): boolean {
  return a.kind === 'literal' ? isStatic(w) && w.text === a.word : matchPlaceholder(a, w);
}

export function matchesProgram(pattern: CompiledPattern, segment: { program: string | null; path: string | null }): boolean {
  if (segment.program === null) return false;
  if (pattern.program.includes('/')) return segment.path === pattern.program;
  return segment.path === null && segment.program === pattern.program;
}

/** Representative words per placeholder type, the dangerous ones included, to compare patterns. */
const SAMPLE_WORDS: Record<Exclude<PlaceholderType, 'flags'>, readonly string[]> = {
  path: ['src/a.txt', '/etc/shadow', '../outside', '~/.ssh/id_rsa'],
  file: ['src/a.txt', '/etc/shadow', '../outside', '~/.ssh/id_rsa'],
  int: ['7', '65535'],
  word: ['word', 'a.b'],
  name: ['build', 'pkg/x'],
  branch: ['main', 'origin/main', 'HEAD~2'],
  url: ['https://example.com/x'],
  any: ['anything', '-rf', '/', '--exec=sh'],
};

function sampleAtom(a: Atom): string[] {
  if (a.kind === 'literal') return [a.word];
  if (a.type === 'flags') return a.arg!.split('|').map((f) => f.replace(/#/g, '1').replace(/\*/g, 'x'));
  const words = SAMPLE_WORDS[a.type];
  return a.arg === 'project' ? words.filter((w) => inProject(w)) : [...words];
}

/**
 * Argument lists the pattern matches, enumerated up to `limit`: every alternative, each optional
 * part absent and present, each repetition once and twice (paired with its first form),
 * placeholders by representative words.
 * Used to tell whether a changed whitelist rule covers more than before.
 */
export function samplePattern(pattern: CompiledPattern, limit = 5000): string[][] {
  const out: string[][] = [];
  const seq = (nodes: readonly Node[], i: number, acc: string[], k: (acc: string[]) => void): void => {
    if (out.length >= limit) return;
    if (i === nodes.length) return k(acc);
    one(nodes[i]!, acc, (next) => seq(nodes, i + 1, next, k));
  };
  const one = (node: Node, acc: string[], k: (acc: string[]) => void): void => {
    if (out.length >= limit) return;
    switch (node.kind) {
      case 'alt':
        for (const a of node.options) for (const w of sampleAtom(a)) k([...acc, w]);
        return;
      case 'optional':
        k(acc);
        seq(node.body, 0, acc, k);
        return;
      case 'repeat': {
        // each form once; twice only paired with the first form, so long flag lists stay linear
        const forms: string[][] = [];
        one(node.node, [], (form) => void forms.push(form));
        const first = forms[0] ?? [];
        for (const f of forms) k([...acc, ...f]);
        for (const f of forms) k([...acc, ...f, ...first]);
        for (const f of forms.slice(1)) k([...acc, ...first, ...f]);
        return;
      }
    }
  };
  seq(pattern.nodes, 0, [], (acc) => {
    if (out.length < limit) out.push(acc);
  });
  return out;
}

/** `words` as static words (what a sample stands for), for `matchArgs`. */
export function staticWords(words: readonly string[]): Word[] {
  return words.map((text) => ({ text, dynamic: false, glob: false, span: [0, 0] as const }));
}
