/**
 * Generated bash commands for the differential test: a small syntax tree built by fast-check
 * (so failures shrink structurally) and rendered to source text.
 *
 * Rules the generator keeps so that bash is a usable oracle:
 * - every command name resolves to a stub in the sandbox's PATH or to a harmless builtin; file
 *   names are relative; redirection targets are static (a failed redirect would skip a command);
 * - loops are bounded (static lists, `while read` over a here-string, `while false`);
 * - arithmetic only reads `n` (set to 3 by the oracle) and literals and only assigns `m`: an
 *   arithmetic error aborts the rest of the line in bash, which would make the "guaranteed to run"
 *   bookkeeping wrong;
 * - the text is always valid bash (a case bash rejects is reported as a generator bug).
 *
 * Rendering also records `guaranteed`: source offsets where a simple command starts that bash is
 * certain to execute (reached through `;`, newlines, pipelines, groups, `&&` after a command that
 * exits 0, command substitutions of such commands). The comparison checks that an IR segment
 * starting there, when fully static, is what bash ran.
 */
import fc from 'fast-check';

/** External programs: the oracle installs a stub for each that exits 0. */
export const STUBS = [
  'a',
  'b',
  'rm',
  'ls',
  'git',
  'sort',
  'find',
  'grep',
  'cat',
  'cp',
  'mv',
  'tee',
  'head',
  'wc',
  'touch',
  'mkdir',
  'chmod',
  'sed',
  'env',
  'nice',
  'timeout',
  'nohup',
  'xargs',
] as const;

/** Builtins a generated command may name directly. */
const BUILTINS = ['echo', 'printf', 'true', 'false', ':', 'test', '['] as const;
/** Commands whose exit status is 0 whatever their arguments. */
const ALWAYS_ZERO = new Set<string>([...STUBS, 'echo', 'true', ':']);

export interface Case {
  readonly source: string;
  /** Offsets where a simple command starts that bash always executes. */
  readonly guaranteed: readonly number[];
}

// -------------------------------------------------------------------------------------------------
// syntax tree

export type Part =
  | { readonly k: 'lit'; readonly s: string }
  | { readonly k: 'sq'; readonly s: string }
  | { readonly k: 'dq'; readonly parts: readonly DqPart[] }
  | { readonly k: 'esc'; readonly c: string }
  | { readonly k: 'ansi'; readonly items: readonly string[] }
  | { readonly k: 'tr'; readonly s: string }
  | { readonly k: 'var'; readonly s: string }
  | { readonly k: 'sub'; readonly list: List }
  | { readonly k: 'bt'; readonly cmd: BtCmd }
  | { readonly k: 'arx'; readonly s: string }
  | { readonly k: 'brace'; readonly b: Brace }
  | { readonly k: 'glob'; readonly s: string }
  | { readonly k: 'cont' };

export type DqPart =
  | { readonly k: 'text'; readonly s: string }
  | { readonly k: 'esc'; readonly c: string }
  | { readonly k: 'var'; readonly s: string }
  | { readonly k: 'sub'; readonly list: List }
  | { readonly k: 'bt'; readonly cmd: BtCmd }
  | { readonly k: 'arx'; readonly s: string }
  | { readonly k: 'cont' };

export type Brace =
  { readonly k: 'list'; readonly items: readonly (readonly BracePart[])[] } | { readonly k: 'raw'; readonly s: string };
export type BracePart = Extract<Part, { k: 'lit' | 'sq' | 'esc' | 'var' }> | { readonly k: 'brace'; readonly b: Brace };

/** A word: parts written next to each other; `tilde` or `proc` stand alone at its start. */
export interface Word {
  readonly tilde: string | null;
  readonly parts: readonly Part[];
  readonly proc: { readonly dir: '<' | '>'; readonly list: List } | null;
}

export interface BtCmd {
  readonly name: string;
  readonly args: readonly Word[];
}

export interface Assign {
  readonly name: string;
  readonly append: boolean;
  readonly value: Word | null;
}

export interface Name {
  readonly n: string;
  readonly style: number;
}

export interface Arg {
  /** What separates it from the previous word: spaces, a tab or a line continuation. */
  readonly sep: string;
  readonly w: Word;
}

export type Redir = { readonly k: 'fixed'; readonly s: string } | { readonly k: 'herestring'; readonly w: Word };

export type Cmd =
  | {
      readonly k: 'simple';
      readonly assigns: readonly Assign[];
      readonly name: Name;
      readonly args: readonly Arg[];
      readonly redirs: readonly Redir[];
    }
  | {
      readonly k: 'wrap';
      readonly wrapper: string;
      readonly envs: readonly Assign[];
      readonly name: Name;
      readonly args: readonly Arg[];
    }
  | { readonly k: 'eval'; readonly style: 'sq' | 'dq'; readonly list: List }
  | { readonly k: 'evalWords'; readonly args: readonly Arg[] }
  | { readonly k: 'test'; readonly bracket: boolean; readonly expr: TestExpr }
  | { readonly k: 'let'; readonly exprs: readonly string[] }
  | { readonly k: 'declare'; readonly keyword: string; readonly assigns: readonly Assign[] }
  | { readonly k: 'printfv'; readonly fmt: string; readonly args: readonly Arg[] }
  | { readonly k: 'find'; readonly name: Word; readonly exec: Name; readonly end: string }
  | { readonly k: 'group'; readonly list: List; readonly redir: string | null }
  | { readonly k: 'subshell'; readonly list: List; readonly redir: string | null }
  | { readonly k: 'if'; readonly cond: List; readonly then: List; readonly otherwise: List | null }
  | { readonly k: 'for'; readonly v: string; readonly words: readonly Word[]; readonly body: List }
  | { readonly k: 'whileRead'; readonly body: List; readonly input: Word }
  | { readonly k: 'whileNot'; readonly until: boolean; readonly body: List }
  | { readonly k: 'case'; readonly word: Word; readonly items: readonly CaseItem[] }
  | { readonly k: 'cond'; readonly e: CondExpr }
  | { readonly k: 'arith'; readonly s: string };

export interface CaseItem {
  readonly paren: boolean;
  readonly patterns: readonly Word[];
  readonly body: List;
}

export type TestExpr = { readonly op: string; readonly words: readonly Word[] };

export type CondExpr =
  | { readonly k: 'unary'; readonly op: string; readonly w: Word }
  | { readonly k: 'binary'; readonly l: Word; readonly op: string; readonly r: Word }
  | { readonly k: 'regex'; readonly l: Word; readonly re: string }
  | { readonly k: 'num'; readonly l: string; readonly op: string; readonly r: string }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'word'; readonly w: Word }
  | { readonly k: 'not'; readonly e: CondExpr }
  | { readonly k: 'and' | 'or'; readonly a: CondExpr; readonly b: CondExpr }
  | { readonly k: 'paren'; readonly e: CondExpr };

export type Stmt =
  | { readonly k: 'pipeline'; readonly negate: boolean; readonly cmds: readonly Cmd[]; readonly pipe: string }
  | { readonly k: 'assign'; readonly assigns: readonly Assign[] }
  | {
      readonly k: 'heredoc';
      readonly cmd: Cmd & { k: 'simple' };
      /** One or two documents on the command (`cat <<A <<B`): bodies follow in order. */
      readonly docs: readonly Doc[];
      readonly tail: (Cmd & { k: 'simple' }) | null;
    };

export interface Doc {
  readonly strip: boolean;
  readonly delim: Delim;
  readonly body: readonly HeredocLine[];
  readonly terminator: 'plain' | 'continued';
}

export interface Delim {
  /** The delimiter as written after `<<` and the word bash compares lines with. */
  readonly written: string;
  readonly word: string;
  readonly quoted: boolean;
}

export type HeredocLine = readonly HeredocPart[];
export type HeredocPart =
  | { readonly k: 'text'; readonly s: string }
  | { readonly k: 'var'; readonly s: string }
  | { readonly k: 'sub'; readonly cmd: Cmd & { k: 'simple' } }
  | { readonly k: 'bt'; readonly cmd: BtCmd }
  | { readonly k: 'cont' };

export type Sep = ';' | '&&' | '||' | '&' | '\n' | { readonly comment: string };

export interface List {
  readonly items: readonly Stmt[];
  /** seps[i] separates items[i] and items[i + 1]. */
  readonly seps: readonly Sep[];
  /** The last item runs in the background (`a &`). */
  readonly background: boolean;
}

// -------------------------------------------------------------------------------------------------
// arbitraries

const chars = (s: string): string[] => [...s];

const LITERALS = [
  'a',
  'b',
  'x',
  'foo',
  '-r',
  '-rf',
  '-n',
  '-o',
  '--',
  '-',
  'a.txt',
  'b.txt',
  'd/f',
  '--opt=v',
  'k=v',
  '5',
  '01',
  '@',
  '%s',
  '.',
  '..',
  '+',
  ':',
  'é',
  'A',
  'a-b',
  'o',
  'x=1',
  '%',
  '^',
  'f]',
];
const litArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(...chars('abcxyz019._-=:')), minLength: 1, maxLength: 3 }),
  },
);
const SQ_CHARS = chars('abxz -"\\$`{},*~\n\té#();&|<>!=');
const sqArb = fc.string({ unit: fc.constantFrom(...SQ_CHARS), maxLength: 5 });
const DQ_TEXT_CHARS = chars("abxz -'{},*~\n\té#();&|<>=[]");
const dqTextArb = fc.string({ unit: fc.constantFrom(...DQ_TEXT_CHARS), minLength: 1, maxLength: 4 });
const ESC_CHARS = chars(` '"$*{},an\\|;&()<>#~\`![=`);
const DQ_ESCAPES = ['\\\\', '\\"', '\\$', '\\`', '\\a', '\\ ', '\\{', "\\'", '\\n'];
// no escape that makes \x01: that byte starts every trace record (PS4, see trace.ts), and a word
// holding it after a newline reads as a record of its own (`\cB` stands for the \c escapes)
const ANSI_ITEMS = [
  'a',
  'b c',
  '\\x41',
  '\\x4a',
  '\\x4',
  '\\101',
  '\\7',
  '\\n',
  '\\t',
  '\\u00e9',
  '\\u00E9x',
  '\\U0001F600',
  "\\'",
  '\\\\',
  '\\"',
  '\\e',
  '\\E',
  '\\cB',
  '\\c?',
  '\\0',
  '\\x00',
  '\\q',
  '\\x',
  '\\u',
  '\\?',
  '"',
  '$x',
  '{a,b}',
  '*',
  ' ',
  '\\a',
  '\\b',
  '\\f',
  '\\v',
  '\\r',
  '\\x7f',
  '\\200',
  '\\xff',
];
const VARS = ['$x', '${x}', '$y', '${x:-d e}', '${#x}', '$u', '${u:-w}', '$n', '${x%b}', '${u}', '$@', '$#', '$?'];
const ARITH_EXPANSIONS = ['1+2', 'n*2', '$n', 'n', '(1 + 2) * n', ' n ', 'n > 1', '1 ? 2 : 3'];
const GLOBS = ['*', '*.txt', '?.txt', '[ab].txt', '[!a]*', 'a*', '[', '*]'];
const TILDES = ['~', '~/d', '~root', '~root/x', '~nouser', 'k=~/d', 'k=a:~/d', '--o=~/d', '~+'];
const BRACE_RAW = [
  '{1..3}',
  '{a..c}',
  '{01..3}',
  '{1..10..3}',
  '{3..1}',
  '{-2..1}',
  '{Z..b}',
  '{a..e..2}',
  '{1..2}{a..b}',
  '{a}',
  '{}',
  '{a,b',
  'a,b}',
  '{,}',
  '{a..}',
  '{1..b}',
  '{x..y..z}',
  '{a,}',
  '{,a}',
  '${x}{a,b}',
  '{$x,b}',
  'a{b,c}d',
  '{a,b}$x',
  '{a,b}{c,d}',
  '{{a,b},c}',
  '{a,b}}',
];

const varArb = fc.constantFrom(...VARS);
const tildeArb = fc.constantFrom(...TILDES);
const NAME_STYLES = 10;
const nameArb = (names: readonly string[]): fc.Arbitrary<Name> =>
  fc.record({
    n: fc.constantFrom(...names),
    style: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: NAME_STYLES - 1 }) },
    ),
  });
// `[` with arbitrary arguments mostly lacks its `]`, which tree-sitter cannot parse: the test form has it
const simpleNames = [
  ...STUBS.filter((s) => !['env', 'nice', 'timeout', 'nohup', 'xargs', 'find'].includes(s)),
  ...BUILTINS.filter((b) => b !== '['),
];
const ASSIGN_NAMES = ['x', 'y', 'z', 'A', 'B'];
/** `a[1]=x cmd` is an error in bash (the command does not run): subscripts only stand alone. */
const STANDALONE_NAMES = [...ASSIGN_NAMES, 'arr[1]'];
/** Declaration builtins and options (`local` outside a function fails, assigning nothing). */
const DECLARATIONS = [
  'declare',
  'declare -x',
  'declare -g',
  'declare -l',
  'declare -u',
  'export',
  'typeset',
  'typeset -x',
  'local',
];
/** Names only `readonly` and `declare -r` assign. */
const READONLY_NAMES = ['R', 'S'];
const REDIRS = [
  '> out',
  '>> out',
  '2> err',
  '2>&1',
  '< a.txt',
  '&> out',
  '>/dev/null',
  '>| out',
  "> 'o u t'",
  '> o\\ u',
  '> "out2"',
  "> $'o\\x75t'",
  '1>&2',
  '3> f3',
];
/** Rarer: tree-sitter-bash cannot parse `<>` without a descriptor, so the IR flags these. */
const RARE_REDIRS = ['<> rw', '2<> rw', '>&2', '<&0', '0<a.txt'];
const ARITH = [
  'n > 1',
  'm = n + 1',
  'm++',
  'n * 2',
  '1 + 2',
  'm += 3, n',
  '$n + 1',
  '(n) / 3',
  'n>1',
  ' m=n ',
  '0',
  'n == 3 && m < 2',
];
const LETS = ["'m = n + 1'", 'm++', '"m*=2"', 'm=n+1', "m='1 + 2'"];
const REGEXES = ['^a', 'a.b', "'a.b'", '"x y"', '^(a|b)$', '[0-9]+', 'a\\ b', '$x', '^-', '.*', 'a|b'];
const COMMENTS = ['# rm -rf x', "# it's $(a) `b`", '#', '#x "y', '# \\'];

const sepArb: fc.Arbitrary<Sep> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Sep>(';', '&&', '\n') },
  { weight: 1, arbitrary: fc.constantFrom<Sep>('||', '&') },
  { weight: 1, arbitrary: fc.constantFrom(...COMMENTS).map((comment): Sep => ({ comment })) },
);
const argSepArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(' ') },
  { weight: 1, arbitrary: fc.constantFrom('  ', '\t', ' \\\n', '\\\n ', ' \\\n\t') },
);

const braceArb: fc.Arbitrary<Brace> = fc.letrec<{ brace: Brace; item: BracePart[] }>((tie) => ({
  brace: fc.oneof(
    { maxDepth: 2, depthIdentifier: 'brace' },
    fc.constantFrom(...BRACE_RAW).map((s): Brace => ({ k: 'raw', s })),
    fc.array(tie('item'), { minLength: 2, maxLength: 3 }).map((items): Brace => ({ k: 'list', items })),
  ),
  item: fc.array(
    fc.oneof(
      { maxDepth: 2, depthIdentifier: 'brace' },
      litArb.map((s): BracePart => ({ k: 'lit', s })),
      sqArb.map((s): BracePart => ({ k: 'sq', s })),
      fc.constantFrom(',', '}', '{', ' ', 'a', '"').map((c): BracePart => ({ k: 'esc', c })),
      varArb.map((s): BracePart => ({ k: 'var', s })),
      tie('brace').map((b): BracePart => ({ k: 'brace', b })),
    ),
    { maxLength: 2 },
  ),
})).brace;

const testExprArb = (word: fc.Arbitrary<Word>): fc.Arbitrary<TestExpr> =>
  fc.oneof(
    fc.record({ op: fc.constantFrom('-n', '-z', '-f', '-d', '-e', '!-e'), words: fc.tuple(word) }),
    fc.record({ op: fc.constantFrom('-v'), words: fc.constant([plain('x')]) }),
    // an unescaped `<` would be a redirect (regressions.txt has that case)
    fc.record({ op: fc.constantFrom('=', '!=', '==', '\\<'), words: fc.tuple(word, word) }),
    fc.record({
      op: fc.constantFrom('-eq', '-lt'),
      words: fc.tuple(fc.constantFrom('1', '3', '$n').map(plain), fc.constantFrom('1', '3').map(plain)),
    }),
    fc.record({ op: fc.constant(''), words: fc.array(word, { maxLength: 2 }) }),
  );

function plain(s: string): Word {
  return { tilde: null, parts: [{ k: 'lit', s }], proc: null };
}

/**
 * No command substitutions: for the line of a here-document (bash reads the body after the
 * next newline token, which a multi-line `$(…)` would contain) and for its body's commands.
 */
function flatWord(w: Word): Word {
  const flatPart = (p: Part): Part =>
    p.k === 'sub'
      ? { k: 'var', s: '$x' }
      : p.k === 'dq'
        ? { k: 'dq', parts: p.parts.map((d) => (d.k === 'sub' ? { k: 'var', s: '$x' } : d)) }
        : p;
  return { tilde: w.tilde, parts: w.parts.map(flatPart), proc: null };
}

function flatSimple(c: Cmd & { k: 'simple' }): Cmd & { k: 'simple' } {
  const flatAssign = (a: Assign): Assign => ({ ...a, value: a.value && flatWord(a.value) });
  return {
    ...c,
    assigns: c.assigns.map(flatAssign),
    args: c.args.map((a) => ({ sep: a.sep.includes('\n') ? ' ' : a.sep, w: flatWord(a.w) })),
    redirs: c.redirs.filter((r) => r.k === 'fixed'),
  };
}

/** Process substitution only where bash takes it (not in patterns, `[[ ]]`, here-strings). */
function noProc(w: Word): Word {
  return w.proc ? { tilde: null, parts: [{ k: 'lit', s: 'p' }], proc: null } : w;
}

// a type alias, not an interface: fc.letrec only types `tie` for records with an index signature
type Arbs = {
  list: List;
  stmt: Stmt;
  cmd: Cmd;
  simple: Cmd & { k: 'simple' };
  word: Word;
  part: Part;
  cond: CondExpr;
};

const arbs = fc.letrec<Arbs>((tie) => {
  const list = tie('list');
  const word = tie('word');
  const simple = tie('simple');
  const arg: fc.Arbitrary<Arg> = fc.record({ sep: argSepArb, w: word });
  const args = (max: number): fc.Arbitrary<Arg[]> => fc.array(arg, { maxLength: max });
  const assignNamed = (names: readonly string[]): fc.Arbitrary<Assign> =>
    fc.record({
      name: fc.constantFrom(...names),
      append: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      value: fc.option(word, { nil: null, freq: 6 }),
    });
  const assign = assignNamed(ASSIGN_NAMES);
  const prefixAssigns = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Assign[]>([]) },
    { weight: 1, arbitrary: fc.array(assign, { minLength: 1, maxLength: 2, depthIdentifier: 'nest' }) },
  );
  const btCmd: fc.Arbitrary<BtCmd> = fc.record({
    name: fc.constantFrom('a', 'b', 'echo', 'ls'),
    args: fc.array(
      fc.oneof(
        litArb.map(plain),
        fc
          .string({ unit: fc.constantFrom(...chars('ab \\$"{},*')), maxLength: 4 })
          .map((s): Word => ({ tilde: null, parts: [{ k: 'sq', s }], proc: null })),
        varArb.map((s): Word => ({ tilde: null, parts: [{ k: 'var', s }], proc: null })),
      ),
      { maxLength: 2 },
    ),
  });
  const dqPart: fc.Arbitrary<DqPart> = fc.oneof(
    { maxDepth: 3, depthIdentifier: 'nest' },
    { weight: 4, arbitrary: dqTextArb.map((s): DqPart => ({ k: 'text', s })) },
    { weight: 2, arbitrary: fc.constantFrom(...DQ_ESCAPES).map((c): DqPart => ({ k: 'esc', c })) },
    { weight: 2, arbitrary: varArb.map((s): DqPart => ({ k: 'var', s })) },
    { weight: 1, arbitrary: fc.constant<DqPart>({ k: 'cont' }) },
    { weight: 1, arbitrary: fc.constantFrom(...ARITH_EXPANSIONS).map((s): DqPart => ({ k: 'arx', s })) },
    { weight: 1, arbitrary: btCmd.map((cmd): DqPart => ({ k: 'bt', cmd })) },
    { weight: 1, arbitrary: list.map((l): DqPart => ({ k: 'sub', list: l })) },
  );
  const part: fc.Arbitrary<Part> = fc.oneof(
    { maxDepth: 3, depthIdentifier: 'nest' },
    { weight: 8, arbitrary: litArb.map((s): Part => ({ k: 'lit', s })) },
    { weight: 3, arbitrary: sqArb.map((s): Part => ({ k: 'sq', s })) },
    { weight: 3, arbitrary: fc.array(dqPart, { maxLength: 3 }).map((parts): Part => ({ k: 'dq', parts })) },
    { weight: 3, arbitrary: fc.constantFrom(...ESC_CHARS).map((c): Part => ({ k: 'esc', c })) },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.constantFrom(...ANSI_ITEMS), { maxLength: 3 })
        .map((items): Part => ({ k: 'ansi', items })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.string({ unit: fc.constantFrom(...chars("ab '{}")), maxLength: 3 }), fc.boolean())
        .map(([s, v]): Part => ({ k: 'tr', s: v ? `${s}$x` : s })),
    },
    { weight: 2, arbitrary: varArb.map((s): Part => ({ k: 'var', s })) },
    { weight: 1, arbitrary: fc.constantFrom(...ARITH_EXPANSIONS).map((s): Part => ({ k: 'arx', s })) },
    { weight: 3, arbitrary: braceArb.map((b): Part => ({ k: 'brace', b })) },
    { weight: 1, arbitrary: fc.constantFrom(...GLOBS).map((s): Part => ({ k: 'glob', s })) },
    { weight: 2, arbitrary: fc.constant<Part>({ k: 'cont' }) },
    { weight: 1, arbitrary: btCmd.map((cmd): Part => ({ k: 'bt', cmd })) },
    { weight: 2, arbitrary: list.map((l): Part => ({ k: 'sub', list: l })) },
  );
  const cond: fc.Arbitrary<CondExpr> = fc.oneof(
    { maxDepth: 2, depthIdentifier: 'cond' },
    fc.record({ k: fc.constant('unary' as const), op: fc.constantFrom('-n', '-z', '-f', '-e', '-d'), w: tie('word') }),
    fc.record({
      k: fc.constant('binary' as const),
      l: tie('word'),
      op: fc.constantFrom('==', '!=', '=', '<', '>'),
      r: tie('word'),
    }),
    fc.record({ k: fc.constant('regex' as const), l: tie('word'), re: fc.constantFrom(...REGEXES) }),
    fc.record({
      k: fc.constant('num' as const),
      l: fc.constantFrom('1', '$n', 'n', '10'),
      op: fc.constantFrom('-eq', '-ne', '-lt', '-ge'),
      r: fc.constantFrom('1', '3', '$n'),
    }),
    fc.record({ k: fc.constant('var' as const), name: fc.constantFrom('x', 'u', 'arr[1]') }),
    fc.record({ k: fc.constant('word' as const), w: tie('word') }),
    fc.record({ k: fc.constant('not' as const), e: tie('cond') }),
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), a: tie('cond'), b: tie('cond') }),
    fc.record({ k: fc.constant('paren' as const), e: tie('cond') }),
  );
  const redir: fc.Arbitrary<Redir> = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...REDIRS).map((s): Redir => ({ k: 'fixed', s })) },
    { weight: 1, arbitrary: fc.constantFrom(...RARE_REDIRS).map((s): Redir => ({ k: 'fixed', s })) },
    { weight: 2, arbitrary: word.map((w): Redir => ({ k: 'herestring', w })) },
  );
  const simpleArb: fc.Arbitrary<Cmd & { k: 'simple' }> = fc.record({
    k: fc.constant('simple' as const),
    assigns: prefixAssigns,
    name: nameArb(simpleNames),
    args: fc.array(arg, { maxLength: 4, depthIdentifier: 'nest' }),
    redirs: fc.array(redir, { maxLength: 2, depthIdentifier: 'nest' }),
  });
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    { maxDepth: 3, depthIdentifier: 'nest' },
    { weight: 14, arbitrary: simple },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('wrap' as const),
        wrapper: fc.constantFrom(
          'env',
          'nice -n 5',
          'timeout 5',
          'command',
          'nohup',
          'xargs',
          'timeout -s KILL 5',
          'env -u A',
        ),
        envs: fc.array(assign, { maxLength: 2 }),
        name: nameArb(simpleNames),
        args: args(3),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('eval' as const),
        style: fc.constantFrom('sq' as const, 'dq' as const),
        list,
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('evalWords' as const), args: args(3) }) },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant('test' as const), bracket: fc.boolean(), expr: testExprArb(word) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('let' as const),
        exprs: fc.array(fc.constantFrom(...LETS), { minLength: 1, maxLength: 2 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.record({
          k: fc.constant('declare' as const),
          keyword: fc.constantFrom(...DECLARATIONS),
          assigns: fc.array(assignNamed(STANDALONE_NAMES), { minLength: 1, maxLength: 2 }),
        }),
        // a read-only name cannot be assigned again (a later `R=1 cmd` would not run): names of its own
        fc.record({
          k: fc.constant('declare' as const),
          keyword: fc.constantFrom('readonly', 'declare -r'),
          assigns: fc.array(assignNamed(READONLY_NAMES), { minLength: 1, maxLength: 2 }),
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('printfv' as const),
        fmt: fc.constantFrom('%s', "'%s-%s'", '"[%s]"', '%q', "'%s\\n'"),
        args: args(2),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('find' as const),
        name: word,
        exec: nameArb(['rm', 'a', 'grep', 'echo']),
        end: fc.constantFrom('\\;', "';'", '+', '";"'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('group' as const),
        list,
        redir: fc.option(fc.constantFrom('> out', '2>&1', '< a.txt'), { nil: null }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('subshell' as const),
        list,
        redir: fc.option(fc.constantFrom('> out', '2>&1'), { nil: null }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('if' as const),
        cond: list,
        then: list,
        otherwise: fc.option(list, { nil: null }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('for' as const),
        v: fc.constantFrom('i', 'v'),
        words: fc.array(word, { minLength: 1, maxLength: 3 }),
        body: list,
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('whileRead' as const), body: list, input: word }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('whileNot' as const), until: fc.boolean(), body: list }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('case' as const),
        word,
        items: fc.array(
          fc.record({ paren: fc.boolean(), patterns: fc.array(word, { minLength: 1, maxLength: 2 }), body: list }),
          { minLength: 1, maxLength: 2 },
        ),
      }),
    },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('cond' as const), e: tie('cond') }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('arith' as const), s: fc.constantFrom(...ARITH) }) },
  );
  const delimArb: fc.Arbitrary<Delim> = fc.oneof(
    ...(
      [
        ['EOF', 'EOF', false],
        ["'EOF'", 'EOF', true],
        ['"EOF"', 'EOF', true],
        ['E"O"F', 'EOF', true],
        ["E''OF", 'EOF', true],
        ['\\EOF', 'EOF', true],
        ["$'EOF'", 'EOF', true],
        ['"A B"', 'A B', true],
        ['END', 'END', false],
        ['X', 'X', false],
        ['E\\OF', 'EOF', true],
        ["'EOF'x", 'EOFx', true],
      ] as const
    ).map(([written, w, quoted]) => fc.constant<Delim>({ written, word: w, quoted })),
  );
  const heredocPart: fc.Arbitrary<HeredocPart> = fc.oneof(
    // no `$` or backquote: an unquoted body would expand them (`${}` is an error); vars come from var parts
    {
      weight: 5,
      arbitrary: fc
        .string({ unit: fc.constantFrom(...chars(`ab EOF'"\\{},*\t#();`)), minLength: 1, maxLength: 5 })
        .map((s): HeredocPart => ({ k: 'text', s: s.endsWith('\\') ? `${s}z` : s })),
    },
    { weight: 2, arbitrary: varArb.map((s): HeredocPart => ({ k: 'var', s })) },
    { weight: 2, arbitrary: simple.map((c): HeredocPart => ({ k: 'sub', cmd: flatSimple(c) })) },
    { weight: 1, arbitrary: btCmd.map((c): HeredocPart => ({ k: 'bt', cmd: c })) },
    { weight: 1, arbitrary: fc.constant<HeredocPart>({ k: 'cont' }) },
  );
  const heredoc: fc.Arbitrary<Stmt> = fc.record({
    k: fc.constant('heredoc' as const),
    cmd: fc.record({
      k: fc.constant('simple' as const),
      assigns: fc.constant([]),
      name: nameArb(['cat', 'a', 'sort', 'grep']),
      args: fc.array(fc.record({ sep: fc.constant(' '), w: fc.constantFrom('-n', 'x', 'a.txt').map(plain) }), {
        maxLength: 1,
      }),
      redirs: fc.constant([]),
    }),
    docs: fc.array(
      fc.record({
        strip: fc.boolean(),
        delim: delimArb,
        body: fc.array(fc.array(heredocPart, { maxLength: 3 }), { maxLength: 3 }),
        terminator: fc.oneof(
          { weight: 4, arbitrary: fc.constant('plain' as const) },
          { weight: 1, arbitrary: fc.constant('continued' as const) },
        ),
      }),
      { minLength: 1, maxLength: 2 },
    ),
    tail: fc.option(simple.map(flatSimple), { nil: null, freq: 4 }),
  });
  return {
    list: fc
      .tuple(
        fc.array(tie('stmt'), { minLength: 1, maxLength: 3, depthIdentifier: 'nest' }),
        fc.array(sepArb, { minLength: 2, maxLength: 2 }),
        fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      )
      .map(([items, seps, background]): List => ({ items, seps: seps.slice(0, items.length - 1), background })),
    stmt: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'nest' },
      {
        weight: 10,
        arbitrary: fc.record({
          k: fc.constant('pipeline' as const),
          negate: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          cmds: fc.array(tie('cmd'), { minLength: 1, maxLength: 2, depthIdentifier: 'nest' }),
          pipe: fc.constantFrom(' | ', ' |& ', '|'),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant('assign' as const),
          assigns: fc.array(assignNamed(STANDALONE_NAMES), { minLength: 1, maxLength: 2 }),
        }),
      },
      { weight: 2, arbitrary: heredoc },
    ),
    cmd,
    simple: simpleArb,
    word: fc
      .record({
        tilde: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: tildeArb }),
        parts: fc.array(tie('part'), { minLength: 1, maxLength: 3, depthIdentifier: 'nest' }),
        proc: fc.oneof(
          { weight: 25, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.record({ dir: fc.constantFrom('<' as const, '>' as const), list }) },
        ),
      })
      // a word made only of line continuations is no word at all: keep words real
      .map((w): Word =>
        w.parts.every((p) => p.k === 'cont') && w.tilde === null
          ? { ...w, parts: [...w.parts, { k: 'lit', s: 'w' }] }
          : w,
      ),
    part,
    cond,
  };
});

/** Generated commands, rendered. */
export const caseArb: fc.Arbitrary<Case> = arbs.list.map(renderCase);

// -------------------------------------------------------------------------------------------------
// rendering

class Out {
  text = '';
  readonly marks: number[] = [];
  put(s: string): void {
    this.text += s;
  }
  mark(): void {
    this.marks.push(this.text.length);
  }
  /** Text rendered elsewhere; its marks only count when `keepMarks`. */
  add(other: Out, keepMarks: boolean): void {
    if (keepMarks) for (const m of other.marks) this.marks.push(m + this.text.length);
    this.text += other.text;
  }
}

export function renderCase(list: List): Case {
  const out = new Out();
  renderList(out, list, true);
  return { source: out.text, guaranteed: [...new Set(out.marks)].sort((a, b) => a - b) };
}

/** Renders a list; returns whether its exit status is certainly 0. */
function renderList(out: Out, list: List, g: boolean): boolean {
  const items = list.items;
  // here-documents end their own line: nothing can follow `EOF` on it, so the next item starts a new statement
  const seps: Sep[] = list.seps.map((s, i) => (items[i]!.k === 'heredoc' ? '\n' : s));
  const background = list.background && items[items.length - 1]!.k !== 'heredoc';
  let zero = false;
  let i = 0;
  while (i < items.length) {
    let j = i;
    while (j < items.length - 1 && (seps[j] === '&&' || seps[j] === '||')) j++;
    const async = j < items.length - 1 ? seps[j] === '&' : background;
    const run = g && !async;
    zero = renderStmt(out, items[i]!, run);
    for (let k = i + 1; k <= j; k++) {
      const sep = seps[k - 1]!;
      writeSep(out, sep, items[k - 1]!);
      if (sep === '&&') {
        const z = renderStmt(out, items[k]!, run && zero);
        zero = zero && z;
      } else {
        renderStmt(out, items[k]!, false);
      }
    }
    if (j < items.length - 1) writeSep(out, seps[j]!, items[j]!);
    i = j + 1;
  }
  if (background) {
    out.put(' &');
    zero = false;
  }
  return zero;
}

function writeSep(out: Out, sep: Sep, before: Stmt): void {
  if (before.k === 'heredoc') return; // its text already ends with a newline
  if (typeof sep === 'object') out.put(`  ${sep.comment}\n`);
  else if (sep === '\n') out.put('\n');
  else if (sep === ';') out.put('; ');
  else out.put(` ${sep} `);
}

/** What must follow a list before a closing keyword: `;`, nothing after a newline, or a space after `&`. */
function terminate(out: Out): void {
  if (out.text.endsWith('\n')) return;
  if (out.text.endsWith(' &')) out.put(' ');
  else out.put('; ');
}

function renderStmt(out: Out, stmt: Stmt, g: boolean): boolean {
  switch (stmt.k) {
    case 'assign':
      stmt.assigns.forEach((a, i) => {
        if (i > 0) out.put(' ');
        renderAssign(out, a, g);
      });
      return false;
    case 'pipeline': {
      if (stmt.negate) out.put('! ');
      let zero = false;
      stmt.cmds.forEach((c, i) => {
        if (i > 0) out.put(stmt.pipe);
        // a builtin writing into a pipe whose reader (a stub) has exited dies of SIGPIPE, and
        // a compound command or eval left of `|` would not get to its next command
        const single = ['simple', 'wrap', 'test', 'let', 'declare', 'printfv', 'find', 'evalWords'].includes(c.k);
        zero = renderCmd(out, c, g && (single || i === stmt.cmds.length - 1));
      });
      return zero && !stmt.negate;
    }
    case 'heredoc':
      return renderHeredoc(out, stmt, g);
  }
}

function renderAssign(out: Out, a: Assign, g: boolean): void {
  out.put(`${a.name}${a.append ? '+=' : '='}`);
  if (a.value) renderWord(out, a.value, g);
}

function renderArgs(out: Out, args: readonly Arg[], g: boolean): void {
  for (const a of args) {
    out.put(a.sep);
    renderWord(out, a.w, g);
  }
}

function renderName(out: Out, name: Name): void {
  const n = name.n;
  const hex = n.charCodeAt(0).toString(16).padStart(2, '0');
  const forms = [
    n,
    `'${n}'`,
    `"${n}"`,
    `\\${n}`,
    n.length > 1 ? `${n[0]}'${n.slice(1)}'` : `''${n}`,
    n.length > 1 ? `${n[0]}\\\n${n.slice(1)}` : `\\\n${n}`,
    `$'${n}'`,
    `$'\\x${hex}'${n.slice(1)}`,
    n.length > 1 ? `${n[0]}\\${n.slice(1)}` : `"${n}"''`,
    `\${u}${n}`,
  ];
  out.put(forms[name.style % forms.length]!);
}

function renderCmd(out: Out, cmd: Cmd, g: boolean): boolean {
  switch (cmd.k) {
    case 'simple': {
      if (g) out.mark();
      for (const a of cmd.assigns) {
        renderAssign(out, a, g);
        out.put(' ');
      }
      renderName(out, cmd.name);
      renderArgs(out, cmd.args, g);
      // tree-sitter-bash cannot parse a here-string after another redirect: here-strings first
      for (const r of [...cmd.redirs].sort((a, b) => (a.k === 'herestring' ? 0 : 1) - (b.k === 'herestring' ? 0 : 1))) {
        out.put(' ');
        if (r.k === 'fixed') out.put(r.s);
        else {
          out.put('<<< ');
          renderWord(out, noProc(r.w), g);
        }
      }
      return ALWAYS_ZERO.has(cmd.name.n);
    }
    case 'wrap': {
      if (g) out.mark();
      out.put(cmd.wrapper);
      if (cmd.wrapper.startsWith('env')) {
        for (const a of cmd.envs) {
          out.put(' ');
          renderAssign(out, a, g);
        }
      }
      out.put(' ');
      renderName(out, cmd.name);
      renderArgs(out, cmd.args, g);
      return cmd.wrapper !== 'command' || ALWAYS_ZERO.has(cmd.name.n);
    }
    case 'eval': {
      if (g) out.mark();
      const inner = new Out();
      const zero = renderList(inner, cmd.list, g);
      if (cmd.style === 'sq') {
        out.put("eval '");
        const quoted = !inner.text.includes("'");
        if (quoted) out.add(inner, true);
        else out.put(inner.text.replace(/'/g, `'\\''`));
        out.put("'");
      } else {
        out.put(`eval "${inner.text.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`);
      }
      return zero;
    }
    case 'evalWords':
      if (g) out.mark();
      out.put('eval');
      renderArgs(out, cmd.args, g);
      return false;
    case 'test': {
      if (g) out.mark();
      out.put(cmd.bracket ? '[' : 'test');
      const { op, words } = cmd.expr;
      const w = (x: Word): void => {
        out.put(' ');
        renderWord(out, x, g);
      };
      if (op === '') words.forEach(w);
      else if (words.length === 1) {
        out.put(op.startsWith('!') ? ` ! ${op.slice(1)}` : ` ${op}`);
        w(words[0]!);
      } else {
        w(words[0]!);
        out.put(` ${op}`);
        w(words[1]!);
      }
      if (cmd.bracket) out.put(' ]');
      return false;
    }
    case 'let':
      if (g) out.mark();
      out.put(`let ${cmd.exprs.join(' ')}`);
      return false;
    case 'declare': {
      if (g) out.mark();
      out.put(cmd.keyword);
      for (const a of cmd.assigns) {
        out.put(' ');
        renderAssign(out, a, g);
      }
      return false;
    }
    case 'printfv':
      if (g) out.mark();
      out.put(`printf -v y ${cmd.fmt}`);
      renderArgs(out, cmd.args, g);
      return false;
    case 'find':
      if (g) out.mark();
      out.put('find . -name ');
      renderWord(out, cmd.name, g);
      out.put(' -exec ');
      renderName(out, cmd.exec);
      out.put(` {} ${cmd.end}`);
      return true;
    case 'group': {
      out.put('{ ');
      const zero = renderList(out, cmd.list, g);
      terminate(out);
      out.put('}');
      if (cmd.redir) out.put(` ${cmd.redir}`);
      return zero;
    }
    case 'subshell': {
      out.put('( ');
      const zero = renderList(out, cmd.list, g);
      out.put(out.text.endsWith('\n') ? ')' : ' )');
      if (cmd.redir) out.put(` ${cmd.redir}`);
      return zero;
    }
    case 'if': {
      out.put('if ');
      const zero = renderList(out, cmd.cond, g);
      terminate(out);
      out.put('then ');
      renderList(out, cmd.then, g && zero);
      terminate(out);
      if (cmd.otherwise) {
        out.put('else ');
        renderList(out, cmd.otherwise, false);
        terminate(out);
      }
      out.put('fi');
      return false;
    }
    case 'for': {
      out.put(`for ${cmd.v} in`);
      for (const w of cmd.words) {
        out.put(' ');
        renderWord(out, w, g);
      }
      out.put('; do ');
      renderList(out, cmd.body, false);
      terminate(out);
      out.put('done');
      return false;
    }
    case 'whileRead': {
      out.put('while read -r v; do ');
      renderList(out, cmd.body, false);
      terminate(out);
      out.put('done <<< ');
      renderWord(out, noProc(cmd.input), g);
      return false;
    }
    case 'whileNot': {
      out.put(cmd.until ? 'until true; do ' : 'while false; do ');
      renderList(out, cmd.body, false);
      terminate(out);
      out.put('done');
      return false;
    }
    case 'case': {
      out.put('case ');
      renderWord(out, noProc(cmd.word), g);
      out.put(' in');
      for (const item of cmd.items) {
        out.put(item.paren ? ' (' : ' ');
        item.patterns.forEach((p, i) => {
          if (i > 0) out.put('|');
          renderWord(out, noProc(p), false);
        });
        out.put(') ');
        renderList(out, { ...item.body, background: false }, false);
        out.put(out.text.endsWith('\n') ? ';;' : ' ;;');
      }
      out.put(' esac');
      return false;
    }
    case 'cond':
      out.put('[[ ');
      renderCond(out, cmd.e);
      out.put(' ]]');
      return false;
    case 'arith':
      out.put(`((${cmd.s}))`);
      return false;
  }
}

function renderCond(out: Out, e: CondExpr): void {
  // an operand that starts with `-` or is empty could read as an operator or a missing operand
  const operand = (w: Word): void => {
    const first = w.parts[0];
    if (w.tilde === null && w.proc === null && first?.k === 'lit' && /^-|^=|^!$/.test(first.s)) out.put('v');
    renderWord(out, noProc(w), false);
  };
  switch (e.k) {
    case 'unary':
      out.put(`${e.op} `);
      operand(e.w);
      return;
    case 'binary':
      operand(e.l);
      out.put(` ${e.op} `);
      operand(e.r);
      return;
    case 'regex':
      operand(e.l);
      out.put(` =~ ${e.re}`);
      return;
    case 'num':
      out.put(`${e.l} ${e.op} ${e.r}`);
      return;
    case 'var':
      out.put(`-v ${e.name}`);
      return;
    case 'word':
      operand(e.w);
      return;
    case 'not':
      out.put('! ');
      renderCond(out, e.e);
      return;
    case 'and':
    case 'or':
      renderCond(out, e.a);
      out.put(e.k === 'and' ? ' && ' : ' || ');
      renderCond(out, e.b);
      return;
    case 'paren':
      out.put('( ');
      renderCond(out, e.e);
      out.put(' )');
      return;
  }
}

function renderHeredoc(out: Out, stmt: Stmt & { k: 'heredoc' }, g: boolean): boolean {
  let zero = renderCmd(out, stmt.cmd, g);
  for (const doc of stmt.docs) out.put(` <<${doc.strip ? '-' : ''}${doc.delim.written}`);
  if (stmt.tail) {
    out.put(' | ');
    zero = renderCmd(out, stmt.tail, g);
  }
  out.put('\n');
  for (const doc of stmt.docs) renderDoc(out, doc, g);
  return zero;
}

/** A here-document's body and delimiter line; every document is expanded, the last one read. */
function renderDoc(out: Out, doc: Doc, g: boolean): void {
  const body = new Out();
  const expands = !doc.delim.quoted;
  for (const line of doc.body) {
    if (doc.strip) body.put('\t');
    for (const p of line) {
      switch (p.k) {
        case 'text':
        case 'var':
          body.put(p.s);
          break;
        case 'cont':
          body.put('\\\n');
          break;
        case 'sub':
          body.put('$(');
          renderCmd(body, p.cmd, g && expands);
          body.put(')');
          break;
        case 'bt':
          body.put('`');
          renderBt(body, p.cmd, g && expands);
          body.put('`');
          break;
      }
    }
    body.put('\n');
  }
  out.add(safeBody(body, doc.delim.word, doc.strip), true);
  const indent = doc.strip ? '\t' : '';
  const word = doc.delim.word;
  if (doc.terminator === 'continued' && !doc.delim.quoted && word.length > 1) {
    // bash joins a backslash-newline in an unquoted here-document's lines, the delimiter line too
    out.put(`${indent}${word.slice(0, 1)}\\\n${word.slice(1)}\n`);
  } else {
    out.put(`${indent}${word}\n`);
  }
}

/**
 * A body line that reads as the delimiter would end the document early. Then every line gets
 * a leading `.` (after the tabs `<<-` strips): no physical or joined line can equal it.
 */
function safeBody(body: Out, word: string, strip: boolean): Out {
  const clash = (l: string): boolean => (strip ? l.replace(/^\t+/, '') : l) === word;
  const physical = body.text.split('\n');
  const logical = body.text.replace(/\\\n/g, '').split('\n');
  if (!physical.some(clash) && !logical.some(clash)) return body;
  const fixed = new Out(); // marks are dropped: the text no longer lines up with them
  fixed.put(body.text.replace(/(^|\n)(\t*)(?=[^\n])/g, '$1$2.'));
  return fixed;
}

function renderBt(out: Out, cmd: BtCmd, g: boolean): void {
  if (g) out.mark();
  out.put(cmd.name);
  for (const a of cmd.args) {
    out.put(' ');
    renderWord(out, a, false);
  }
}

function renderWord(out: Out, w: Word, g: boolean): void {
  if (w.proc) {
    out.put(`${w.proc.dir}(`);
    const inner = new Out();
    renderList(inner, w.proc.list, false);
    if (inner.text.startsWith('(')) out.put(' ');
    out.add(inner, false);
    out.put(')');
    return;
  }
  if (w.tilde !== null) out.put(w.tilde);
  for (const p of w.parts) renderPart(out, p, g);
}

function renderPart(out: Out, p: Part, g: boolean): void {
  switch (p.k) {
    case 'lit':
      out.put(p.s);
      return;
    case 'sq':
      out.put(`'${p.s}'`);
      return;
    case 'dq':
      out.put('"');
      for (const d of p.parts) renderDq(out, d, g);
      out.put('"');
      return;
    case 'esc':
      out.put(`\\${p.c}`);
      return;
    case 'ansi':
      out.put(`$'${p.items.join('')}'`);
      return;
    case 'tr':
      out.put(`$"${p.s}"`);
      return;
    case 'var':
      out.put(p.s);
      return;
    case 'arx':
      out.put(`$((${p.s}))`);
      return;
    case 'glob':
      out.put(p.s);
      return;
    case 'brace':
      renderBrace(out, p.b);
      return;
    case 'cont':
      out.put('\\\n');
      return;
    case 'bt':
    case 'sub':
      renderSubstitution(out, p, g);
      return;
  }
}

function renderDq(out: Out, d: DqPart, g: boolean): void {
  switch (d.k) {
    case 'text':
    case 'var':
      out.put(d.s);
      return;
    case 'esc':
      out.put(d.c);
      return;
    case 'cont':
      out.put('\\\n');
      return;
    case 'arx':
      out.put(`$((${d.s}))`);
      return;
    case 'bt':
    case 'sub':
      renderSubstitution(out, d, g);
      return;
  }
}

/** `` `cmd` `` and `$(list)`, written alike in and out of double quotes. */
function renderSubstitution(
  out: Out,
  s: { readonly k: 'bt'; readonly cmd: BtCmd } | { readonly k: 'sub'; readonly list: List },
  g: boolean,
): void {
  if (s.k === 'bt') {
    out.put('`');
    renderBt(out, s.cmd, g);
    out.put('`');
    return;
  }
  out.put('$(');
  const inner = new Out();
  renderList(inner, s.list, g);
  // `$((` would open arithmetic
  if (inner.text.startsWith('(')) out.put(' ');
  out.add(inner, true);
  out.put(')');
}

function renderBrace(out: Out, b: Brace): void {
  if (b.k === 'raw') {
    out.put(b.s);
    return;
  }
  out.put('{');
  b.items.forEach((item, i) => {
    if (i > 0) out.put(',');
    for (const p of item) {
      if (p.k === 'brace') renderBrace(out, p.b);
      else renderPart(out, p, false);
    }
  });
  out.put('}');
}
