/**
 * Whitelist patterns: a program and an argv pattern for ONE segment, with typed placeholders.
 * Never a prefix of the raw string: every argument must be accounted for by the pattern.
 *
 *   git log [<flags:--oneline|--stat|-p>...] [-n <int>] [<branch>]
 *   npm run build|lint|test
 *   mkdir [-p] <path:inside>...
 *
 * Grammar: `[…]` optional, `X...` one or more, `a|b` one of these (literal words or
 * placeholders: `<flags:-l|-a>|<path>`), `<type>` or `<type:arg>` one word of that type.
 * In a flag list, `#` stands for digits and `*` for any text (`-n#`, `--format=*`), and
 * `FLAG:TYPE` is a flag that takes a value of that type, as the next word or, for a long flag,
 * after `=` (`-C:int`, `--glob:word`, `-o:path.inside` — `-g '*.ts'`, `--glob=*.ts`), so a
 * value is never mistaken for an operand. A short flag's attached value (`-C3`) is written as
 * a flag pattern (`-C#`, `-s*`): tools differ on whether `-oX` means `-o X`. `<re:REGEX>` is one word the whole of which matches REGEX
 * (RE2; no `>` in it).
 * Placeholders never match dynamic or globbing words.
 */
import type { Word } from '../shell/ir.js';
import { compileFullRegex, RegexError, type Tester } from '../policy/regex.js';
import { projectValue } from '../shell/options.js';

export type PlaceholderType =
  'path' | 'file' | 'int' | 'word' | 'branch' | 'url' | 'flags' | 'any' | 'name' | 're' | 'jq' | 'data';
export const PLACEHOLDER_TYPES: readonly PlaceholderType[] = [
  'path',
  'file',
  'int',
  'word',
  'branch',
  'url',
  'flags',
  'any',
  'name',
  're',
  'jq',
  'data',
];

/** The scopes a placeholder type accepts after its colon. */
const SCOPES: Partial<Record<PlaceholderType, readonly string[]>> = {
  path: ['project', 'inside', 'any'],
  file: ['project', 'inside', 'any'],
  url: ['local'],
  branch: ['feature'],
};

/** One entry of a flag list: a flag (or flag pattern), and the value it takes, if any. */
interface FlagSpec {
  readonly re: RegExp;
  /** A word the entry stands for (`#` as 1, `*` as x), for sampling. */
  readonly sample: string;
  /** The flag itself when the entry takes a value (`-C` of `-C:int`). */
  readonly name: string | null;
  readonly value: Extract<Atom, { kind: 'placeholder' }> | null;
}

type Atom =
  | { kind: 'literal'; word: string }
  | {
      kind: 'placeholder';
      type: PlaceholderType;
      arg: string | null;
      flags: readonly FlagSpec[];
      regex: Tester | null;
    };

type Node =
  | { kind: 'alt'; options: readonly Atom[] }
  | { kind: 'optional'; body: readonly Node[] }
  | { kind: 'repeat'; node: Node };

export interface CompiledPattern {
  readonly source: string;
  /** The program name, or a path when the pattern names one (`./gradlew`): the first of `programs`. */
  readonly program: string;
  /** `docker|podman ps`: any of these programs, with the same arguments. */
  readonly programs: readonly string[];
  readonly nodes: readonly Node[];
}

export class PatternError extends Error {}

/** States an automaton may have: a pattern needing more is refused when it is compiled. */
const MAX_STATES = 20_000;
/** `[` nested deeper than this is refused when a pattern is compiled (no rule needs more than a few). */
const MAX_GROUP_DEPTH = 32;
/**
 * Elements (words, `[`, `]`, `...`) a pattern may have: samplePattern, which lint and diff use,
 * recurses once per element. No shipped rule has more than a dozen.
 */
const MAX_PATTERN_TOKENS = 256;

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
  return /^[A-Za-z0-9_@%+=:,./#*^~{}-]+$/.test(word) && !word.endsWith('...') && word !== ''
    ? word
    : `'${word.replace(/'/g, "''")}'`;
}

export function compilePattern(source: string): CompiledPattern {
  const tokens = tokenize(source.trim());
  if (tokens.length > MAX_PATTERN_TOKENS)
    throw new PatternError(
      `a pattern has at most ${MAX_PATTERN_TOKENS} elements (words, "[", "]", "..."), this one ${tokens.length}`,
    );
  const head = tokens.shift();
  if (!head || /^[[<]|^\||\|$/.test(head) || head === '...')
    throw new PatternError('a pattern starts with the program name');
  // `docker|podman`, and quoted names (`'[' <any>...`)
  const programs = alternatives(head).map((p) => {
    if (p === '' || p.startsWith('<')) throw new PatternError('a pattern starts with the program name');
    return /^'.*'$/.test(p) && p.length > 1 ? p.slice(1, -1).replace(/''/g, "'") : p;
  });
  let i = 0;
  let depth = 0;
  const seq = (closing: boolean): Node[] => {
    if (depth > MAX_GROUP_DEPTH) throw new PatternError(`"[" nested more than ${MAX_GROUP_DEPTH} levels deep`);
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
      if (t === '[') {
        depth++;
        nodes.push({ kind: 'optional', body: seq(true) });
        depth--;
      } else nodes.push({ kind: 'alt', options: alternatives(t).map(atom) });
    }
    if (closing) throw new PatternError('missing "]"');
    return nodes;
  };
  const nodes = seq(false);
  const compiled: CompiledPattern = { source, program: programs[0]!, programs, nodes };
  automata.set(compiled, buildAutomaton(nodes));
  return compiled;
}

function flagRegex(flag: string): RegExp {
  const body = flag
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/#/g, '\\d+')
    .replace(/\*/g, '.+');
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
  if (type === 're' && !arg) throw new PatternError('<re:…> gives the regular expression');
  const scopes = SCOPES[type];
  if (type !== 'flags' && type !== 're' && arg !== null && !scopes?.includes(arg)) {
    throw new PatternError(
      scopes
        ? `<${type}:${arg}>: the scope is one of ${scopes.map((x) => `"${x}"`).join(', ')}`
        : `<${type}> takes no scope`,
    );
  }
  const flags =
    type === 'flags'
      ? arg!.split('|').map((f): FlagSpec => {
          if (!f.startsWith('-')) throw new PatternError(`<flags:…>: "${f}" is not a flag`);
          const colon = f.indexOf(':');
          if (colon === -1)
            return { re: flagRegex(f), sample: f.replace(/#/g, '1').replace(/\*/g, 'x'), name: null, value: null };
          const name = f.slice(0, colon);
          if (/[#*]/.test(name))
            throw new PatternError(`<flags:…>: "${f}": a flag that takes a value is named exactly`);
          const [valueType, scope] = f.slice(colon + 1).split('.');
          if (valueType === 'flags' || valueType === 're')
            throw new PatternError(`<flags:…>: "${f}": a value is one of the plain placeholder types`);
          const value = atom(`<${valueType}${scope ? `:${scope}` : ''}>`) as Extract<Atom, { kind: 'placeholder' }>;
          return { re: flagRegex(name), sample: name, name, value };
        })
      : [];
  let regex: Tester | null = null;
  if (type === 're') {
    try {
      regex = compileFullRegex(arg!);
    } catch (err) {
      if (err instanceof RegexError) throw new PatternError(`<re:${arg}>: ${err.message} (RE2 syntax)`);
      throw err;
    }
  }
  return { kind: 'placeholder', type, arg, flags, regex };
}

function isStatic(w: Word): boolean {
  return !w.dynamic && !w.glob;
}

/** Relative and never climbing above the working tree (`.` included). */
function inProject(path: string): boolean {
  return projectValue(path);
}

/**
 * Strictly inside the working tree: not the tree itself (`.`, `./`), not in its Git directory
 * or the gate's own files, where changing or removing something is never a routine edit.
 */
function insideProject(path: string): boolean {
  if (!projectValue(path)) return false;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  for (const p of parts) {
    if (p === '..') resolved.pop();
    else resolved.push(p);
  }
  return resolved.length > 0 && resolved[0] !== '.git' && resolved[0] !== '.policy-gate';
}

/** Branch names that are never a feature branch pushed or deleted without a look. */
const PROTECTED_BRANCHES =
  /^(?:main|master|trunk|develop|development|dev|prod|production|stable|live|gh-pages|HEAD|release|releases?\/.*|hotfix\/.*)$/;

/**
 * A Git revision as written on a command line: a ref name (its components never start with a
 * dot, never `..` inside one), optionally with `^`, `~N` or `@{…}` after it, or a range of two
 * (`a..b`, `a...b`). Never an option, a path that climbs (`a/../../x`) or a refspec (`a:b`).
 */
function isRevision(t: string): boolean {
  const ref = '[A-Za-z0-9_@][A-Za-z0-9_@+-]*(?:[./][A-Za-z0-9_@+-]+)*(?:@\\{[A-Za-z0-9 .:-]+\\}|\\^[0-9]*|~[0-9]*)*';
  return new RegExp(`^${ref}(?:\\.{2,3}${ref})?$`).test(t) && !/(?:^|\/)\.|\.\.\/|\/\/|\.lock(?:$|\/)|\/$/.test(t);
}

/** What a jq filter may not name: the environment, modules, file names, program arguments. */
const JQ_OUTSIDE_INPUT = new RegExp(
  [
    /\benv\b/,
    /\$ENV/,
    /\$__loc__/,
    /\$__prog_args/,
    /\binput_filename\b/,
    /\bimport\b/,
    /\binclude\b/,
    /\bmodulemeta\b/,
    /\bget_search_list\b/,
    /\bget_prog_origin\b/,
    /\bget_jq_origin\b/,
    /\$__/,
    /\binput_line_number\b/,
  ]
    .map((r) => r.source)
    .join('|'),
);

/**
 * A jq filter that reads only its input: no `env`/`$ENV` (the environment holds secrets), no
 * modules (`import`, `include` load files), no file names or program arguments.
 */
function isJqFilter(t: string): boolean {
  return t !== '' && !t.startsWith('-') && !JQ_OUTSIDE_INPUT.test(t);
}

/** A URL to this machine: http(s), or a bare host as curl reads one (`localhost:3000/x`). */
const LOCAL_URL =
  /^(?:https?:\/\/)?(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(?::\d{1,5})?(?:[/?#][^\s@\\]*)?$/i;

/** A flag that takes no value: listed, or a bundle of listed short flags (`-sb` when -s and -b are). */
function flagAllowed(text: string, specs: readonly FlagSpec[]): boolean {
  const plain = specs.filter((f) => f.value === null);
  if (plain.some((f) => f.re.test(text))) return true;
  if (/^-[A-Za-z]{2,}$/.test(text)) return [...text.slice(1)].every((c) => plain.some((f) => f.re.test(`-${c}`)));
  return false;
}

/** How many words a flag list can take at `wi`: 1 (a flag, or a flag with its value attached), 2 (a flag and its value). */
function flagLengths(specs: readonly FlagSpec[], args: readonly Word[], wi: number): number[] {
  const w = args[wi];
  if (!w || !isStatic(w) || !w.text.startsWith('-')) return [];
  const t = w.text;
  const out = new Set<number>();
  if (flagAllowed(t, specs)) out.add(1);
  for (const f of specs) {
    if (f.value === null || f.name === null) continue;
    const next = args[wi + 1];
    if (t === f.name && next !== undefined && matchPlaceholder(f.value, next)) out.add(2);
    const attached = f.name.startsWith('--') && t.startsWith(`${f.name}=`) ? t.slice(f.name.length + 1) : null;
    if (attached !== null && matchPlaceholder(f.value, { ...w, text: attached })) out.add(1);
  }
  return [...out];
}

function matchPlaceholder(node: Extract<Atom, { kind: 'placeholder' }>, w: Word): boolean {
  if (!isStatic(w)) return false;
  const t = w.text;
  switch (node.type) {
    case 'flags':
      return t.startsWith('-') && flagAllowed(t, node.flags);
    case 'int':
      // counts as tools take them: 20, -5 (all but the last five), +100 (from line 100)
      return /^[+-]?\d+$/.test(t);
    case 'data':
      // data sent inline (`-d '{"a":1}'`), never a file to read (`@file`, `<file`, `name=@file`) nor an option
      return !/^[@<-]|=[@<]/.test(t);
    case 'word':
      return t.length > 0 && !t.startsWith('-');
    case 'name':
      // a target or subcommand name: no option, no absolute path, no VAR=value
      return /^[A-Za-z0-9_][A-Za-z0-9._:/@+-]*$/.test(t);
    case 'branch':
      // refs and revision ranges: main, origin/main, HEAD~2, v1.2.0, main...feature
      if (!isRevision(t)) return false;
      // a feature branch: a plain name, not a protected one, no revision suffix or range
      return node.arg === 'feature' ? !PROTECTED_BRANCHES.test(t) && !/[~^]|@\{|\.\./.test(t) : true;
    case 'url':
      return node.arg === 'local' ? LOCAL_URL.test(t) : /^https?:\/\/[^\s]+$/.test(t);
    case 'path':
    case 'file':
      if (t.length === 0 || t.startsWith('-')) return false;
      return node.arg === 'project' ? inProject(t) : node.arg === 'inside' ? insideProject(t) : true;
    case 're':
      return node.regex!.test(t);
    case 'jq':
      return isJqFilter(t);
    case 'any':
      return true;
  }
}

/**
 * The pattern as a Thompson automaton over argument words, simulated breadth first: the set of
 * states alive at each word, so a match costs (words × states), never exponential however the
 * optional and repeated groups combine, and nothing recurses per word (a command within the size
 * limit may have tens of thousands of arguments).
 *
 * Semantics, as the grammar says: `[X]` is X or nothing; `X...` is one or more repetitions of X,
 * each of which takes at least one word (`[a]...` is one or more `a`, never nothing); an atom
 * takes one word, or two (a flag and its value).
 */
type Rx =
  | { readonly k: 'atom'; readonly atoms: readonly Atom[] }
  | { readonly k: 'seq'; readonly items: readonly Rx[] }
  | { readonly k: 'alt'; readonly options: readonly Rx[] }
  | { readonly k: 'opt'; readonly body: Rx }
  | { readonly k: 'plus'; readonly body: Rx };

type State =
  /** Takes the words one of `atoms` takes, then goes on at `next`. */
  | { readonly kind: 'atom'; readonly atoms: readonly Atom[]; readonly next: number }
  /** Goes on at any of `out` without taking a word. */
  | { readonly kind: 'split'; readonly out: number[] }
  | { readonly kind: 'accept' };

interface Automaton {
  readonly states: readonly State[];
  readonly start: number;
}

/** Each compiled pattern's automaton (built by compilePattern, which refuses one too large). */
const automata = new WeakMap<CompiledPattern, Automaton>();

/** The pattern's nodes as a regular expression (recursing once per group: compilePattern bounds their nesting). */
function toRx(nodes: readonly Node[]): Rx {
  return {
    k: 'seq',
    items: nodes.map((n): Rx => {
      switch (n.kind) {
        case 'alt':
          return { k: 'atom', atoms: n.options };
        case 'optional':
          return { k: 'opt', body: toRx(n.body) };
        case 'repeat':
          // a repetition that took no word does not count (the body's empty match is left out)
          return { k: 'plus', body: nonEmpty(toRx([n.node])) };
      }
    }),
  };
}

function nullable(rx: Rx): boolean {
  switch (rx.k) {
    case 'atom':
      return false;
    case 'seq':
      return rx.items.every(nullable);
    case 'alt':
      return rx.options.some(nullable);
    case 'opt':
      return true;
    case 'plus':
      return nullable(rx.body);
  }
}

/** What `rx` matches except the empty sequence of words. */
function nonEmpty(rx: Rx): Rx {
  switch (rx.k) {
    case 'atom':
      return rx;
    case 'opt':
      return nonEmpty(rx.body);
    case 'plus':
      return { k: 'plus', body: nonEmpty(rx.body) };
    case 'alt':
      return { k: 'alt', options: rx.options.map(nonEmpty) };
    case 'seq': {
      // the first item that takes a word is item i: those before it took none
      const options: Rx[] = [];
      for (let i = 0; i < rx.items.length; i++) {
        options.push({ k: 'seq', items: [nonEmpty(rx.items[i]!), ...rx.items.slice(i + 1)] });
        if (!nullable(rx.items[i]!)) break;
      }
      return { k: 'alt', options };
    }
  }
}

function buildAutomaton(nodes: readonly Node[]): Automaton {
  const states: State[] = [{ kind: 'accept' }];
  const add = (s: State): number => {
    if (states.length >= MAX_STATES)
      throw new PatternError('the pattern is too complex (too many optional and repeated groups)');
    states.push(s);
    return states.length - 1;
  };
  // the state that matches `rx` and then goes on at `next`
  const build = (rx: Rx, next: number): number => {
    switch (rx.k) {
      case 'atom':
        return add({ kind: 'atom', atoms: rx.atoms, next });
      case 'seq': {
        let at = next;
        for (let i = rx.items.length - 1; i >= 0; i--) at = build(rx.items[i]!, at);
        return at;
      }
      case 'alt':
        return add({ kind: 'split', out: rx.options.map((o) => build(o, next)) });
      case 'opt':
        return add({ kind: 'split', out: [build(rx.body, next), next] });
      case 'plus': {
        // body, then again or on: the loop state is made first so that the body can return to it
        const out: number[] = [];
        const loop = add({ kind: 'split', out });
        const body = build(rx.body, loop);
        out.push(body, next);
        return body;
      }
    }
  };
  const start = build(toRx(nodes), 0);
  return { states, start };
}

function automaton(pattern: CompiledPattern): Automaton {
  let a = automata.get(pattern);
  if (!a) {
    a = buildAutomaton(pattern.nodes);
    automata.set(pattern, a);
  }
  return a;
}

/**
 * States visited before a match is abandoned (and so not whitelisted): a second line of defence,
 * far above what any command within the size limit needs with a reasonable pattern (an `echo`
 * of 30,000 words visits 120,000).
 */
const VISIT_BUDGET = 4_000_000;

/** Does the whole argv (after the program) match the pattern? */
export function matchArgs(pattern: CompiledPattern, args: readonly Word[]): boolean {
  const { states, start } = automaton(pattern);
  let visits = 0;
  const n = args.length;
  // the states reached at word wi, wi + 1 and wi + 2 (an atom takes at most two words)
  let frontier: number[][] = [[start], [], []];
  // a state already in the closure at word wi is marked with wi + 1
  const seen = new Int32Array(states.length);
  const stack: number[] = [];
  for (let wi = 0; wi <= n; wi++) {
    const [here, next1, next2] = frontier as [number[], number[], number[]];
    if (here.length === 0 && next1.length === 0 && next2.length === 0) return false;
    // the lengths each set of atoms can take here, computed once per word
    const lengths = new Map<readonly Atom[], number[]>();
    const mark = wi + 1;
    for (const s of here) {
      if (seen[s] !== mark) {
        seen[s] = mark;
        stack.push(s);
      }
    }
    while (stack.length > 0) {
      if (++visits > VISIT_BUDGET) return false;
      const id = stack.pop()!;
      const s = states[id]!;
      if (s.kind === 'accept') {
        if (wi === n) return true;
        continue;
      }
      if (s.kind === 'split') {
        for (const o of s.out) {
          if (seen[o] !== mark) {
            seen[o] = mark;
            stack.push(o);
          }
        }
        continue;
      }
      if (wi === n) continue;
      let lens = lengths.get(s.atoms);
      if (!lens) {
        const set = new Set<number>();
        for (const a of s.atoms) for (const len of atomLengths(a, args, wi)) set.add(len);
        lens = [...set];
        lengths.set(s.atoms, lens);
      }
      for (const len of lens) (len === 1 ? next1 : next2).push(s.next);
    }
    frontier = [next1, next2, []];
  }
  return false;
}

/** The numbers of words an atom can take at `wi` (none when it cannot match there). */
function atomLengths(a: Atom, args: readonly Word[], wi: number): number[] {
  const w = args[wi];
  if (w === undefined) return [];
  if (a.kind === 'literal') return isStatic(w) && w.text === a.word ? [1] : [];
  if (a.type === 'flags') return flagLengths(a.flags, args, wi);
  return matchPlaceholder(a, w) ? [1] : [];
}

export function matchesProgram(
  pattern: CompiledPattern,
  segment: { program: string | null; path: string | null },
): boolean {
  if (segment.program === null) return false;
  return pattern.programs.some((p) =>
    p.includes('/') ? segment.path === p : segment.path === null && segment.program === p,
  );
}

/** Representative words per placeholder type, the dangerous ones included, to compare patterns. */
const SAMPLE_WORDS: Record<Exclude<PlaceholderType, 'flags' | 're'>, readonly string[]> = {
  path: ['src/a.txt', '.', '.git/config', '/etc/shadow', '../outside', '~/.ssh/id_rsa'],
  file: ['src/a.txt', '.', '.git/config', '/etc/shadow', '../outside', '~/.ssh/id_rsa'],
  int: ['7', '65535'],
  word: ['word', 'a.b'],
  name: ['build', 'pkg/x'],
  branch: ['feature/x', 'main', 'origin/main', 'HEAD~2'],
  url: ['http://localhost:3000/x', 'https://example.com/x'],
  jq: ['.version', 'env.HOME'],
  data: ['{"a":1}', '@/etc/shadow'],
  any: ['anything', '-rf', '/', '--exec=sh'],
};

/**
 * Words standing for one atom. `extra` words (a program's risky options, for lint) are tried
 * wherever a placeholder could take them. A regex cannot be enumerated: it stands for itself
 * (so a changed regex reads as a change), plus the extra words it admits.
 */
function sampleAtom(a: Atom, extra: readonly string[]): string[][] {
  if (a.kind === 'literal') return [[a.word]];
  if (a.type === 'flags') {
    const out: string[][] = [];
    for (const f of a.flags) {
      if (f.value === null) out.push([f.sample]);
      else for (const [v] of sampleAtom(f.value, extra)) out.push([f.name!, v!]);
    }
    // the extra words that are values, each tried after each extra flag
    const values = extra.filter((e) => !e.startsWith('-'));
    for (const e of extra) {
      if (flagLengths(a.flags, staticWords([e]), 0).includes(1)) out.push([e]);
      for (const v of values) if (flagLengths(a.flags, staticWords([e, v]), 0).includes(2)) out.push([e, v]);
    }
    return out;
  }
  const admitted = extra.filter((w) => matchPlaceholder(a, { text: w, dynamic: false, glob: false, span: [0, 0] }));
  if (a.type === 're') return [`<re:${a.arg}>`, ...admitted].map((w) => [w]);
  const words = SAMPLE_WORDS[a.type].filter((w) =>
    matchPlaceholder(a, { text: w, dynamic: false, glob: false, span: [0, 0] }),
  );
  return [...new Set([...words, ...admitted])].map((w) => [w]);
}

/**
 * Argument lists the pattern matches, enumerated up to `limit`: every alternative, each optional
 * part absent and present, each repetition once and twice (paired with its first form),
 * placeholders by representative words.
 * Used to tell whether a changed whitelist rule covers more than before.
 */
export function samplePattern(pattern: CompiledPattern, limit = 5000, extra: readonly string[] = []): string[][] {
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
        for (const a of node.options) for (const words of sampleAtom(a, extra)) k([...acc, ...words]);
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
