/**
 * What bash executed (from its trace) against what the IR says would execute.
 *
 * The rule: every word the IR reports as static (not dynamic, not glob) must be exactly what bash
 * passes. An IR word that is dynamic or glob may stand for any number of bash words, 0 included.
 *
 * Checked per case:
 * - every argv bash executed matches some IR segment (wrapper words, then the segment's argv);
 * - every `name=value` bash assigned matches an IR assignment of that name (a static IR value
 *   must be the same text);
 * - every `[[ … ]]` term bash evaluated matches a term of an IR `[[` segment (argv
 *   `['[[', …words…, ']]']`); pattern operands (right of `==`, `!=`, `=`, `=~`) leniently,
 *   because bash prints them with backslash quoting;
 * - every `(( … ))` bash evaluated matches an IR `((` segment (argv `['((', expr, '))']`) with the
 *   same text apart from whitespace when the IR's expression is static;
 * - every `for NAME in …` bash ran has an IR assignment to NAME;
 * - when the IR reports code it cannot see (`dynamic-payload`, `evaluated-code`, `expanded-code`: never
 *   whitelisted), commands, assignments and tests bash ran that no IR segment accounts for are
 *   taken to come from that code;
 * - an IR segment that starts where the generator put a command bash always runs, and whose
 *   words are all static, matches some argv bash executed (catches an IR that reads `-r\<nl>o`
 *   as two words when bash ran one).
 *
 * The matching is by sets, not by position: bash may run a segment many times (loops) or not at
 * all (branches), and the trace interleaves with background jobs.
 */
import type { Script, Segment, Span, Word } from '../../engine/shell/ir.js';
import type { OracleResult } from './oracle.js';
import { fromBytes, toBytes } from './trace.js';

export type DivergenceKind =
  'argv' | 'assignment' | 'cond' | 'arith' | 'for' | 'unexecuted' | 'timeout' | 'trace' | 'ir-crash';

export interface Divergence {
  readonly kind: DivergenceKind;
  /** A short key that groups divergences with the same cause: the kind, then a feature. */
  readonly cls: string;
  readonly message: string;
}

/** Which checks run; each can be switched off with DIFF_SKIP=name,name while the IR catches up. */
export interface Checks {
  readonly assignments: boolean;
  readonly cond: boolean;
  readonly arith: boolean;
  readonly forVar: boolean;
  readonly unexecuted: boolean;
}

export const ALL_CHECKS: Checks = { assignments: true, cond: true, arith: true, forVar: true, unexecuted: true };

export function checksFromEnv(skip = process.env.DIFF_SKIP ?? ''): Checks {
  const off = new Set(
    skip
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const name of off)
    if (!(name in ALL_CHECKS))
      throw new Error(
        `DIFF_SKIP: unknown check ${JSON.stringify(name)} (known: ${Object.keys(ALL_CHECKS).join(', ')})`,
      );
  return {
    assignments: !off.has('assignments'),
    cond: !off.has('cond'),
    arith: !off.has('arith'),
    forVar: !off.has('forVar'),
    unexecuted: !off.has('unexecuted'),
  };
}

/** One word of an IR segment as the comparison sees it; texts are byte strings. */
interface Item {
  readonly text: string;
  readonly wild: boolean;
  /** Where the word is in the source, for naming the cause of a divergence. */
  readonly span: Span | null;
}

interface IrCommand {
  readonly seg: Segment;
  readonly items: readonly Item[];
}

const COND_BINARY = new Set([
  '==',
  '=',
  '!=',
  '=~',
  '<',
  '>',
  '-eq',
  '-ne',
  '-lt',
  '-le',
  '-gt',
  '-ge',
  '-nt',
  '-ot',
  '-ef',
]);
const COND_PATTERN = new Set(['==', '=', '!=', '=~']);
const COND_UNARY = new Set([
  '-a',
  '-b',
  '-c',
  '-d',
  '-e',
  '-f',
  '-g',
  '-h',
  '-k',
  '-p',
  '-r',
  '-s',
  '-t',
  '-u',
  '-w',
  '-x',
  '-G',
  '-L',
  '-N',
  '-O',
  '-S',
  '-o',
  '-v',
  '-R',
  '-z',
  '-n',
]);
const COND_SYNTAX = new Set(['!', '&&', '||', '(', ')']);

function item(w: Word): Item {
  return { text: toBytes(w.text), wild: w.dynamic || w.glob, span: w.span };
}

/** Wrapper words are strings in the IR: a claim that they are static. */
function fullArgv(seg: Segment): Item[] {
  return [
    ...seg.wrappers.flatMap((w) => w.argv.map((t): Item => ({ text: toBytes(t), wild: false, span: w.span }))),
    ...seg.argv.map(item),
  ];
}

/** A pattern of static words and wildcards (0..n words each) against bash's words. */
export function argvMatches(pattern: readonly Item[], words: readonly string[]): boolean {
  let prev = new Array<boolean>(words.length + 1).fill(false);
  prev[0] = true;
  for (const p of pattern) {
    const cur = new Array<boolean>(words.length + 1).fill(false);
    for (let j = 0; j <= words.length; j++) {
      if (p.wild) cur[j] = prev[j]! || (j > 0 && cur[j - 1]!);
      else cur[j] = j > 0 && prev[j - 1]! && p.text === words[j - 1];
    }
    prev = cur;
  }
  return prev[words.length]!;
}

/**
 * Cheapest edit from the IR pattern to bash's words (a wildcard takes any run for free), and
 * the first place along it where they differ: the IR item there (null when bash had an extra
 * word) and bash's word there.
 */
function alignment(
  pattern: readonly Item[],
  words: readonly string[],
): { cost: number; first: { item: Item | null; word: string | null } | null } {
  const n = pattern.length;
  const m = words.length;
  // suf[i][j]: cheapest alignment of pattern[i..] with words[j..]
  const suf: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let j = m; j >= 0; j--) suf[n]![j] = m - j;
  for (let i = n - 1; i >= 0; i--) {
    const p = pattern[i]!;
    for (let j = m; j >= 0; j--) {
      if (p.wild) suf[i]![j] = Math.min(suf[i + 1]![j]!, j < m ? suf[i]![j + 1]! : Infinity);
      else
        suf[i]![j] = Math.min(
          suf[i + 1]![j]! + 1,
          j < m ? suf[i]![j + 1]! + 1 : Infinity,
          j < m ? suf[i + 1]![j + 1]! + (p.text === words[j] ? 0 : 1) : Infinity,
        );
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const p = pattern[i];
    const here = suf[i]![j]!;
    if (p && !p.wild && j < m && p.text === words[j] && suf[i + 1]![j + 1] === here) {
      i++;
      j++;
    } else if (p && p.wild && suf[i + 1]![j] === here) {
      i++;
    } else if (p && p.wild && j < m && suf[i]![j + 1] === here) {
      j++;
    } else {
      return { cost: suf[0]![0]!, first: { item: p ?? null, word: words[j] ?? null } };
    }
  }
  return { cost: suf[0]![0]!, first: null };
}

const RESERVED = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'case',
  'esac',
  'while',
  'until',
  'for',
  'in',
  '{',
  '}',
  '!',
  '[[',
  ']]',
  'function',
  'select',
  'time',
  '(',
  ')',
]);

/**
 * What most likely makes the IR read a word wrongly: first from how the IR word and bash's word
 * differ, then from the constructs in the word's source, most specific first, so that a shrunk
 * case keeps the class of the original.
 */
export function cause(source: string, span: Span | null, irText?: string, bashWord?: string | null): string {
  if (!span) return 'wrapper';
  const s = source.slice(span[0], span[1]);
  if (irText?.includes('~') && bashWord && /\/tmp\/home|\/root/.test(bashWord) && !bashWord.includes('~'))
    return 'tilde';
  // a continuation the IR took for a word break sits just outside the word it cut short
  if (/\\\n/.test(source.slice(Math.max(0, span[0] - 2), span[1] + 2))) return 'line-continuation';
  if (irText !== undefined && RESERVED.has(irText) && s === irText) return 'reserved-word-in-argv';
  if (/<</.test(s)) return 'heredoc';
  if (/\$'/.test(s)) return 'ansi-c';
  if (/\$"/.test(s)) return 'translated-string';
  if (/(^|[=:])~/.test(s)) return 'tilde';
  if (/\{/.test(s)) return /\{[^}]*(,|\.\.)/.test(s) && /['"\\$]/.test(s) ? 'brace+quoting' : 'brace';
  if (/[*?[]/.test(s)) return 'glob';
  if (/\$\(|`/.test(s)) return 'substitution';
  if (/\$/.test(s)) return 'expansion';
  if (/\\/.test(s)) return 'backslash';
  if (/["']/.test(s)) return 'quotes';
  return 'plain';
}

/** JSON, with the control characters JSON leaves raw (DEL, C1) escaped too. */
export function show(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function showWords(words: readonly string[]): string {
  return `[${words.map((w) => show(fromBytes(w))).join(', ')}]`;
}

function showItems(items: readonly Item[]): string {
  return `[${items.map((i) => (i.wild ? `~${show(fromBytes(i.text))}` : show(fromBytes(i.text)))).join(', ')}]`;
}

function showIr(commands: readonly IrCommand[]): string {
  if (commands.length === 0) return '(no segments)';
  return commands.map((c) => showItems(c.items)).join(' ');
}

/** Pattern operands: bash prints them with backslashes and quotes reworked; compare without. */
function looseEqual(irText: string, bashText: string): boolean {
  const strip = (s: string): string => s.replace(/[\\'"]/g, '');
  return strip(irText) === strip(bashText) || (irText === '' && bashText === "''");
}

function operandMatches(ir: Item, text: string, pattern: boolean): boolean {
  if (ir.wild) return true;
  if (pattern) return looseEqual(ir.text, text);
  return ir.text === text || (ir.text === '' && text === "''");
}

type CondTerm = { op: string; l: Item | null; r: Item };

/** The terms of an IR `[[` segment as bash would evaluate them one by one. */
function condTerms(seg: Segment, source: string): CondTerm[] {
  const words = seg.argv.slice(1, seg.argv[seg.argv.length - 1]?.text === ']]' ? -1 : undefined).map(item);
  const out: CondTerm[] = [];
  // an operator is written bare: `\=` or `'=='` is an operand that reads like one
  const bare = (w: Item): boolean =>
    !w.wild && (w.span === null || w.span[0] === w.span[1] || toBytes(source.slice(w.span[0], w.span[1])) === w.text);
  const isOp = (w: Item | undefined, ops: ReadonlySet<string>): w is Item => !!w && bare(w) && ops.has(w.text);
  const isSyntax = (w: Item | undefined): boolean => isOp(w, COND_SYNTAX);
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const next = words[k + 1];
    if (isOp(next, COND_BINARY) && words[k + 2]) {
      out.push({ op: next.text, l: w, r: words[k + 2]! });
      k += 2;
    } else if (isOp(w, COND_UNARY) && next && !isSyntax(next)) {
      out.push({ op: w.text, l: null, r: next });
      k += 1;
    } else if (!isSyntax(w)) {
      out.push({ op: '-n', l: null, r: w });
    }
  }
  return out;
}

function condMatches(term: CondTerm, text: string): boolean {
  // bash traces a negation as `! …`, and an operand `\!` as `!` too: try both readings
  return condMatchesText(term, text) || (text.startsWith('! ') && condMatchesText(term, text.slice(2)));
}

function condMatchesText(term: CondTerm, t: string): boolean {
  if (term.l === null) {
    if (!t.startsWith(`${term.op} `)) return false;
    return operandMatches(term.r, t.slice(term.op.length + 1), false);
  }
  const sep = ` ${term.op} `;
  for (let at = t.indexOf(sep); at !== -1; at = t.indexOf(sep, at + 1)) {
    if (
      operandMatches(term.l, t.slice(0, at), false) &&
      operandMatches(term.r, t.slice(at + sep.length), COND_PATTERN.has(term.op))
    )
      return true;
  }
  return false;
}

const squash = (s: string): string => s.replace(/\s+/g, '');

/** The IR of a command, or what parseScript threw (it promises never to throw). */
export function irOf(source: string, parse: (source: string) => Script): Script | Error {
  try {
    return parse(source);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

export function compareCase(
  source: string,
  guaranteed: readonly number[],
  script: Script | Error,
  result: OracleResult,
  checks: Checks = ALL_CHECKS,
): Divergence[] {
  if (script instanceof Error) {
    const where =
      script.stack
        ?.split('\n')
        .find((l) => l.includes('engine/'))
        ?.trim() ?? '';
    return [
      {
        kind: 'ir-crash',
        cls: `ir-crash:${script.message.slice(0, 60)}`,
        message: `parseScript threw: ${script.message} ${where}`,
      },
    ];
  }
  const found: Divergence[] = [];
  const codes = [...new Set(script.issues.map((i) => i.code))];
  const issues = codes.length > 0 ? ` (IR issues: ${codes.join(', ')})` : '';
  if (result.timedOut)
    return [
      { kind: 'timeout', cls: 'timeout', message: 'bash did not finish in time: a generator bug (unbounded loop?)' },
    ];
  // bash stops at a syntax error, having run what came before it: that much is compared; the IR
  // claiming more runs than does is no divergence

  const commands: IrCommand[] = [];
  const conds: Segment[] = [];
  const ariths: Segment[] = [];
  for (const seg of script.segments) {
    if (seg.program === '[[') conds.push(seg);
    else if (seg.program === '((') ariths.push(seg);
    else commands.push({ seg, items: fullArgv(seg) });
  }
  const commandMatches = (words: readonly string[]): boolean => commands.some((c) => argvMatches(c.items, words));

  // the IR said code it cannot see runs here (`eval "$x"`, `source <(…)`): what bash ran or
  // assigned that no segment accounts for may come from it (such a command is never whitelisted)
  const unseen =
    codes.includes('dynamic-payload') || codes.includes('evaluated-code') || codes.includes('expanded-code');
  const assignmentsNamed = (name: string) => script.assignments.filter((a) => a.name.replace(/\[.*$/, '') === name);
  const executed: string[][] = [];

  for (const rec of result.records) {
    switch (rec.kind) {
      case 'command': {
        executed.push([...rec.argv]);
        if (commandMatches(rec.argv) || unseen) break;
        found.push(argvDivergence(source, rec.argv, commands, issues));
        break;
      }
      case 'assignment': {
        executed.push([rec.word]);
        if (!checks.assignments) break;
        const named = assignmentsNamed(rec.name);
        const ok = named.some((a) => {
          // `x+=b` before a command traces the whole new value: only its end is known (the span
          // of an assignment inside eval is the whole eval word: look for `+=` anywhere in it)
          const append = rec.append || source.slice(a.span[0], a.span[1]).includes('+=');
          if (!a.value) return rec.value === '' || append;
          if (a.value.dynamic || a.value.glob) return true;
          return append ? rec.value.endsWith(toBytes(a.value.text)) : toBytes(a.value.text) === rec.value;
        });
        // `'a=b'` as a command prints like an assignment; code the IR cannot see may assign any
        // name, including one a visible assignment also sets (`eval x=1 <(x= a)`)
        if (ok || commandMatches([rec.word]) || unseen) break;
        if (named.length === 0) {
          found.push({
            kind: 'assignment',
            cls: 'assignment:missing',
            message: `bash assigned ${rec.name}=${show(fromBytes(rec.value))}; the IR has no assignment to ${rec.name}${issues}`,
          });
        } else {
          const statics = named.filter((a) => !a.value || (!a.value.dynamic && !a.value.glob));
          const blamed =
            statics.sort(
              (a, b) =>
                similarity(b.value?.text ?? '', fromBytes(rec.value)) -
                similarity(a.value?.text ?? '', fromBytes(rec.value)),
            )[0] ?? named[0]!;
          const values = named.map((a) =>
            a.value ? `${a.value.dynamic || a.value.glob ? '~' : ''}${show(a.value.text)}` : '(empty)',
          );
          found.push({
            kind: 'assignment',
            cls: `assignment:value:${cause(source, blamed.span, blamed.value?.text ?? '', rec.value)}`,
            message:
              `bash assigned ${rec.name}=${show(fromBytes(rec.value))}; the IR says ${values.join(' or ')} ` +
              `(source ${show(source.slice(blamed.span[0], blamed.span[1]))})${issues}`,
          });
        }
        break;
      }
      case 'cond': {
        if (!checks.cond) break;
        if (unseen || conds.some((seg) => condTerms(seg, source).some((t) => condMatches(t, rec.text)))) break;
        found.push({
          kind: 'cond',
          cls: conds.length === 0 ? 'cond:no-[[-segment' : 'cond:term',
          message:
            `bash evaluated [[ ${fromBytes(rec.text)} ]]; the IR has ` +
            `${conds.length === 0 ? 'no [[ segment' : conds.map((c) => showItems(c.argv.map(item))).join(' ')}${issues}`,
        });
        break;
      }
      case 'arith': {
        if (!checks.arith) break;
        const ok = ariths.some((seg) => {
          const expr = seg.argv[1];
          return !!expr && (expr.dynamic || squash(toBytes(expr.text)) === squash(rec.text));
        });
        if (ok || unseen) break;
        found.push({
          kind: 'arith',
          cls: ariths.length === 0 ? 'arith:no-((-segment' : 'arith:text',
          message:
            `bash evaluated ((${fromBytes(rec.text)})); the IR has ` +
            `${ariths.length === 0 ? 'no (( segment' : ariths.map((c) => showItems(c.argv.map(item))).join(' ')}${issues}`,
        });
        break;
      }
      case 'for': {
        if (!checks.forVar || assignmentsNamed(rec.name).length > 0) break;
        found.push({
          kind: 'for',
          cls: 'for:no-assignment',
          message: `bash ran ${fromBytes(rec.raw.split('\n')[0]!)}; the IR has no assignment to ${rec.name}${issues}`,
        });
        break;
      }
      case 'case':
        break;
      case 'garbage':
        found.push({
          kind: 'trace',
          cls: 'trace:unreadable',
          message: `a trace line the parser could not read: ${show(fromBytes(rec.raw))}`,
        });
        break;
    }
  }

  if (checks.unexecuted && !result.syntaxError) {
    const starts = new Set(guaranteed);
    for (const c of commands) {
      if (!starts.has(c.seg.span[0]) || c.items.some((i) => i.wild)) continue;
      const words = c.items.map((i) => i.text);
      if (executed.some((e) => e.length === words.length && e.every((w, k) => w === words[k]))) continue;
      const near = closest([c], executed);
      const item = near?.first?.item ?? c.items[c.items.length - 1] ?? null;
      found.push({
        kind: 'unexecuted',
        cls: `unexecuted:${near ? cause(source, item?.span ?? null, item?.text, near.first?.word) : 'no-similar-command'}`,
        message:
          `the IR says ${showItems(c.items)} runs at offset ${c.seg.span[0]} ` +
          `(source ${show(source.slice(c.seg.span[0], c.seg.span[1]))}); ` +
          `bash ran ${near ? showWords(near.argv) : 'nothing like it'} there${issues}`,
      });
    }
  }
  // the IR knew it could not read the command: a lesser class than a silent misreading
  const unread = codes.includes('parse-error') || codes.includes('missing-token');
  return dedupe(unread ? found.map((d) => ({ ...d, cls: `${d.cls} [IR parse-error]` })) : found);
}

interface Closest {
  readonly c: IrCommand;
  readonly argv: readonly string[];
  readonly cost: number;
  readonly first: { item: Item | null; word: string | null } | null;
}

/**
 * The IR segment and bash argv most alike, when they are alike at all: fewer edits than words,
 * or the same text with the word breaks elsewhere (`r\<newline>m` read as two words).
 */
function closest(commands: readonly IrCommand[], argvs: readonly (readonly string[])[]): Closest | null {
  let best: (Closest & { distance: number }) | null = null;
  for (const c of commands) {
    for (const argv of argvs) {
      const a = alignment(c.items, argv);
      const related =
        a.cost < Math.max(c.items.length, argv.length) ||
        (!c.items.some((i) => i.wild) && c.items.map((i) => i.text).join('') === argv.join(''));
      if (!related) continue;
      // among related ones, the most alike as text: `t est` is nearer `test` than `a $x` is
      const irText = c.items.map((i) => i.text).join(' ');
      const bashText = argv.join(' ');
      const distance = editDistance(irText, bashText) / Math.max(1, irText.length, bashText.length);
      if (!best || distance < best.distance || (distance === best.distance && a.cost < best.cost))
        best = { c, argv, distance, ...a };
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const x = a.slice(0, 200);
  const y = b.slice(0, 200);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

function similarity(a: string, b: string): number {
  return -editDistance(a, b);
}

function argvDivergence(
  source: string,
  argv: readonly string[],
  commands: readonly IrCommand[],
  issues: string,
): Divergence {
  const near = closest(commands, [argv]);
  if (!near) {
    return {
      kind: 'argv',
      cls: `argv:missing${argv[0] === '[' ? ':[' : ''}`,
      message: `bash ran ${showWords(argv)}; no IR segment is like it; the IR has ${showIr(commands)}${issues}`,
    };
  }
  const items = near.c.items;
  const first = near.first;
  if (first?.item) {
    const span = first.item.span;
    return {
      kind: 'argv',
      cls: `argv:${cause(source, span, fromBytes(first.item.text), first.word)}`,
      message:
        `bash ran ${showWords(argv)}; the IR says ${showItems(items)}: ` +
        `IR word ${show(fromBytes(first.item.text))} (source ${show(span ? source.slice(span[0], span[1]) : '')}) ` +
        `vs bash ${first.word === null ? 'nothing' : show(fromBytes(first.word))}${issues}`,
    };
  }
  // bash had words after the IR's last one: blame that word, which should have produced them
  const prior = items[items.length - 1] ?? null;
  return {
    kind: 'argv',
    cls: `argv:extra-word:${prior ? cause(source, prior.span, fromBytes(prior.text), first?.word) : 'plain'}`,
    message:
      `bash ran ${showWords(argv)}; the IR says ${showItems(items)}: ` +
      `bash's ${show(fromBytes(first?.word ?? ''))} has no IR word${issues}`,
  };
}

function dedupe(ds: Divergence[]): Divergence[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.cls}\u0000${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
