/**
 * Compile rule match definitions into evaluators over the Script IR. Compilation happens once
 * per policy load; evaluation is a handful of closure calls per segment.
 */
import type { Redirect, Script, Segment, Span, Word } from '../shell/ir.js';
import { GateError } from '../util/errors.js';
import { effectiveTool, optionUses } from '../shell/options.js';
import {
  compileGlobs,
  compilePrefixGlob,
  matchesAnyForm,
  outsideProject,
  pathForms,
  type PathContext,
} from './paths.js';
import { RegexError, compileRegex, type Tester } from './regex.js';
import type {
  ArgsPredicate,
  AssignmentPredicate,
  MatchDefinition,
  OneOrMany,
  PayloadPredicate,
  RedirectPredicate,
  SegmentPredicate,
  SetsDefinition,
  WordMatch,
  WordPredicate,
} from './types.js';

export interface MatchContext extends PathContext {
  /** The gate's own store, policy and key locations: any access to them is tampering. */
  readonly protectedPaths?: readonly string[] | undefined;
  /** The context for one segment (its working directory after earlier `cd`s). */
  readonly forSegment?: ((id: number) => MatchContext) | undefined;
}

export interface Hit {
  /** The segment the match points at, when it is about one. */
  readonly segment: number | null;
  readonly span: Span;
}

type WordTest = (w: Word, ctx: MatchContext) => boolean;
type SegmentTest = (s: Segment, script: Script, ctx: MatchContext) => boolean;
export type ScriptMatcher = (script: Script, ctx: MatchContext) => Hit | null;

function list<T>(v: OneOrMany<T> | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Something with `test`, compiled on first use when the policy was already validated. */
function lazy(make: () => Tester): Tester {
  let re: Tester | null = null;
  return { test: (text) => (re ??= make()).test(text) };
}

interface ResolvedSets {
  readonly words: Map<string, WordTest>;
  readonly segments: Map<string, SegmentTest>;
  readonly resolving: Set<string>;
}

export class Compiler {
  /**
   * @param where where the definitions come from, for error messages
   * @param resolved named sets already compiled; shared so each set compiles once per policy
   * @param eager compile every regular expression now (a cold load validates them); a warm
   *   load of an already validated policy compiles each on first use, which keeps start-up short
   */
  constructor(
    private readonly sets: SetsDefinition,
    private readonly where: { file?: string; line?: number; rule?: string } = {},
    private readonly resolved: ResolvedSets = { words: new Map(), segments: new Map(), resolving: new Set() },
    private readonly eager = true,
  ) {}

  at(where: { file?: string; line?: number; rule?: string }): Compiler {
    return new Compiler(this.sets, where, this.resolved, this.eager);
  }

  private tester(make: () => Tester): Tester {
    return this.eager ? make() : lazy(make);
  }

  private fail(message: string): never {
    throw new GateError('policy-invalid', message, { location: this.where });
  }

  /** RE2 regular expressions (linear time, see regex.ts); a leading `(?i)` makes one case-insensitive. */
  private regex(source: string): Tester {
    return this.tester(() => {
      try {
        return compileRegex(source);
      } catch (err) {
        if (!(err instanceof RegexError)) throw err;
        return this.fail(
          `invalid regular expression ${JSON.stringify(source)}: ${err.message} (policy regexes are RE2: no backreferences or lookaround)`,
        );
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // words

  word(m: WordMatch): WordTest {
    if (typeof m === 'string') return (w) => !w.dynamic && w.text === m;
    return this.wordPredicate(m);
  }

  private wordPredicate(p: WordPredicate): WordTest {
    const tests: WordTest[] = [];
    const equals = list(p.equals);
    if (equals.length > 0) {
      const set = new Set(equals);
      tests.push((w) => set.has(w.text));
    }
    const prefix = list(p.prefix);
    if (prefix.length > 0) tests.push((w) => prefix.some((x) => w.text.startsWith(x)));
    const suffix = list(p.suffix);
    if (suffix.length > 0) tests.push((w) => suffix.some((x) => w.text.endsWith(x)));
    const contains = list(p.contains);
    if (contains.length > 0) tests.push((w) => contains.some((x) => w.text.includes(x)));
    if (p.regex !== undefined) {
      const re = this.regex(p.regex);
      tests.push((w) => re.test(w.text));
    }
    const paths = list(p.path);
    if (paths.length > 0) {
      // one alternation compiles faster than a regular expression per glob
      const re = this.tester(() => compileGlobs(paths, !this.eager));
      tests.push((w, ctx) => matchesAnyForm([re], w.text, ctx));
    }
    if (p.remote !== undefined) tests.push((w) => isRemote(w.text) === p.remote);
    if (p.protected !== undefined) tests.push((w, ctx) => isProtected(w.text, ctx) === p.protected);
    // a run-time word matches neither way, but for a home directory at its start (`~/x`, "$HOME"/x)
    if (p.outside_project !== undefined)
      tests.push(
        (w, ctx) => (!w.dynamic || HOME_WORD.test(w.text)) && outsideProject(w.text, ctx) === p.outside_project,
      );
    if (p.url !== undefined) tests.push((w) => /^[a-z][a-z0-9+.-]*:\/\/[^\s/]/i.test(w.text) === p.url);
    if (p.loopback !== undefined) tests.push((w) => isLoopback(w.text) === p.loopback);
    if (p.dynamic !== undefined) tests.push((w) => w.dynamic === p.dynamic);
    if (p.glob !== undefined) tests.push((w) => w.glob === p.glob);
    if (p.ref !== undefined) tests.push(this.wordRef(p.ref));
    if (p.any) {
      const alts = p.any.map((a) => this.wordPredicate(a));
      tests.push((w, ctx) => alts.some((t) => t(w, ctx)));
    }
    if (p.not) {
      const inner = this.wordPredicate(p.not);
      tests.push((w, ctx) => !inner(w, ctx));
    }
    if (tests.length === 0) this.fail('empty word predicate');
    return tests.length === 1 ? tests[0]! : (w, ctx) => tests.every((t) => t(w, ctx));
  }

  private wordRef(name: string): WordTest {
    const known = this.resolved.words.get(name);
    if (known) return known;
    const def = this.sets.words?.[name];
    if (!def) this.fail(`unknown word set "${name}"`);
    const key = `word:${name}`;
    if (this.resolved.resolving.has(key)) this.fail(`word set "${name}" refers to itself`);
    this.resolved.resolving.add(key);
    const compiled = this.wordPredicate(def);
    this.resolved.resolving.delete(key);
    this.resolved.words.set(name, compiled);
    return compiled;
  }

  // -------------------------------------------------------------------------------------------
  // segments

  segment(p: SegmentPredicate): SegmentTest {
    const tests: SegmentTest[] = [];
    const programs = list(p.program);
    if (programs.length > 0) {
      const exact = new Set(programs.filter((x) => !/[*?[{]/.test(x)));
      const globs = programs.filter((x) => /[*?[{]/.test(x)).map((g) => this.tester(() => compilePrefixGlob(g)));
      const is = (name: string): boolean => exact.has(name) || globs.some((g) => g.test(name));
      // a runner's tool counts too: `npx eslint` is eslint, `python -m pytest` is pytest
      tests.push((s) => s.program !== null && (is(s.program) || (runnerTool(s) !== null && is(runnerTool(s)!))));
    }
    if (p.command_path !== undefined) {
      const t = this.word(p.command_path);
      tests.push((s, _sc, ctx) => s.path !== null && s.argv[0] !== undefined && t(s.argv[0], ctx));
    }
    const flags = list(p.flags);
    if (flags.length > 0) tests.push((s) => flags.some((f) => hasFlag(s.argv, f)));
    if (p.flags_all) {
      const all = p.flags_all;
      tests.push((s) => all.every((f) => hasFlag(s.argv, f)));
    }
    const noFlags = list(p.no_flags);
    if (noFlags.length > 0) tests.push((s) => !noFlags.some((f) => hasFlag(s.argv, f)));
    if (p.subcommand !== undefined) tests.push(this.subcommand(p.subcommand));
    if (p.args !== undefined) tests.push(this.args(p.args));
    if (p.argv_regex !== undefined) {
      const re = this.regex(p.argv_regex);
      tests.push((s) =>
        re.test(
          s.argv
            .slice(1)
            .map((w) => w.text)
            .join(' '),
        ),
      );
    }
    const wrappers = list(p.wrapper);
    if (wrappers.length > 0) tests.push((s) => s.wrappers.some((w) => wrappers.includes(w.name)));
    if (p.wrapper_argv_regex !== undefined) {
      const re = this.regex(p.wrapper_argv_regex);
      tests.push((s) => s.wrappers.some((w) => re.test(w.argv.join(' '))));
    }
    if (p.privileged !== undefined) tests.push((s) => s.privileged === p.privileged);
    const vias = list(p.via);
    if (vias.length > 0) tests.push((s) => vias.includes(s.via));
    if (p.nested !== undefined) tests.push((s) => (s.parent !== null) === p.nested);
    if (p.remote !== undefined) tests.push((s) => (s.remote !== null) === p.remote);
    if (p.background !== undefined) tests.push((s) => s.background === p.background);
    if (p.local_only !== undefined) tests.push((s) => localOnly(s) === p.local_only);
    if (p.risky_option !== undefined) {
      const kinds = new Set(list(p.risky_option));
      tests.push((s, _sc, ctx) => s.program !== null && hasRiskyOption(s, kinds, ctx));
    }
    // a program another one runs from an option (`nc -e /bin/sh`) reads what that program gives
    // it (there, the socket), not the pipe: counted as not piped, which never lowers risk
    if (p.piped !== undefined)
      tests.push(
        (s, sc) =>
          (s.via !== 'command-string' &&
            sc.flows.some((f) => f.to === s.id && (f.kind === 'pipe' || f.kind === 'literal'))) === p.piped,
      );
    if (p.dynamic_program !== undefined) tests.push((s) => (s.program === null) === p.dynamic_program);
    if (p.dynamic_args !== undefined) tests.push((s) => s.argv.slice(1).some((w) => w.dynamic) === p.dynamic_args);
    if (p.payload !== undefined) tests.push(this.payload(p.payload));
    if (p.writes !== undefined) {
      const t = this.word(p.writes);
      tests.push((s, _sc, ctx) => writtenPaths(s).some((w) => t(w, ctx)));
    }
    if (p.reads !== undefined) {
      const t = this.word(p.reads);
      tests.push((s, _sc, ctx) => readPaths(s).some((w) => t(w, ctx)));
    }
    if (p.redirect !== undefined) {
      const r = this.redirect(p.redirect);
      tests.push((s, _sc, ctx) => s.redirects.some((x) => r(x, ctx)));
    }
    if (p.assignment !== undefined) {
      const a = this.assignment(p.assignment);
      tests.push((s, _sc, ctx) => s.assignments.some((x) => a(x, ctx)));
    }
    if (p.ref !== undefined) tests.push(this.segmentRef(p.ref));
    if (p.any) {
      const alts = p.any.map((a) => this.segment(a));
      tests.push((s, sc, ctx) => alts.some((t) => t(s, sc, ctx)));
    }
    if (p.all) {
      const all = p.all.map((a) => this.segment(a));
      tests.push((s, sc, ctx) => all.every((t) => t(s, sc, ctx)));
    }
    if (p.not) {
      const inner = this.segment(p.not);
      tests.push((s, sc, ctx) => !inner(s, sc, ctx));
    }
    if (tests.length === 0) this.fail('empty segment predicate');
    const all: SegmentTest = tests.length === 1 ? tests[0]! : (s, sc, ctx) => tests.every((t) => t(s, sc, ctx));
    // paths are judged from the segment's own working directory
    return (s, sc, ctx) => all(s, sc, ctx.forSegment ? ctx.forSegment(s.id) : ctx);
  }

  private segmentRef(name: string): SegmentTest {
    const known = this.resolved.segments.get(name);
    if (known) return known;
    const def = this.sets.segments?.[name];
    if (!def) this.fail(`unknown segment set "${name}"`);
    const key = `segment:${name}`;
    if (this.resolved.resolving.has(key)) this.fail(`segment set "${name}" refers to itself`);
    this.resolved.resolving.add(key);
    const compiled = this.segment(def);
    this.resolved.resolving.delete(key);
    this.resolved.segments.set(name, compiled);
    return compiled;
  }

  /**
   * `"delete namespace|ns"`: these words in order among the first operands (up to two option
   * values may come first); a list gives alternatives.
   */
  private subcommand(spec: OneOrMany<string>): SegmentTest {
    const compiled = list(spec).map((seq) =>
      seq
        .trim()
        .split(/\s+/)
        .map((part) => new Set(part.split('|'))),
    );
    return (s) => {
      const positional = positionals(s.argv);
      return compiled.some((seq) => {
        for (let start = 0; start <= Math.min(2, positional.length - seq.length); start++) {
          if (seq.every((alts, k) => alts.has(positional[start + k]!))) return true;
        }
        return false;
      });
    };
  }

  private args(spec: ArgsPredicate | WordMatch): SegmentTest {
    const isArgs =
      typeof spec === 'object' &&
      ('any' in spec || 'all' in spec || 'none' in spec || 'positional' in spec || 'count' in spec) &&
      !(
        'equals' in spec ||
        'path' in spec ||
        'regex' in spec ||
        'prefix' in spec ||
        'contains' in spec ||
        'suffix' in spec
      );
    if (!isArgs) {
      const t = this.word(spec as WordMatch);
      return (s, _sc, ctx) => s.argv.slice(1).some((w) => t(w, ctx));
    }
    const a = spec as ArgsPredicate;
    const tests: SegmentTest[] = [];
    if (a.any !== undefined) {
      const t = this.word(a.any);
      tests.push((s, _sc, ctx) => s.argv.slice(1).some((w) => t(w, ctx)));
    }
    if (a.all !== undefined) {
      const t = this.word(a.all);
      tests.push((s, _sc, ctx) => s.argv.length > 1 && s.argv.slice(1).every((w) => t(w, ctx)));
    }
    if (a.none !== undefined) {
      const t = this.word(a.none);
      tests.push((s, _sc, ctx) => !s.argv.slice(1).some((w) => t(w, ctx)));
    }
    if (a.positional !== undefined) {
      const seq = list(a.positional).map((m) => this.word(m));
      tests.push((s, _sc, ctx) => {
        const pos = s.argv.slice(1).filter((w) => !w.text.startsWith('-') || w.dynamic);
        return seq.every((t, k) => pos[k] !== undefined && t(pos[k]!, ctx));
      });
    }
    if (a.count) {
      const { min = 0, max = Infinity } = a.count;
      tests.push((s) => s.argv.length - 1 >= min && s.argv.length - 1 <= max);
    }
    return (s, sc, ctx) => tests.every((t) => t(s, sc, ctx));
  }

  private payload(p: PayloadPredicate): SegmentTest {
    const languages = list(p.language);
    const caps = list(p.capabilities);
    const capsAll = p.capabilities_all ?? [];
    const re = p.regex !== undefined ? this.regex(p.regex) : null;
    return (s) => {
      const pl = s.payload;
      if (!pl) return false;
      if (languages.length > 0 && !languages.includes(pl.language)) return false;
      if (caps.length > 0 && !caps.some((c) => pl.capabilities.includes(c))) return false;
      if (!capsAll.every((c) => pl.capabilities.includes(c))) return false;
      if (re && !re.test(pl.text)) return false;
      if (p.dynamic !== undefined && pl.dynamic !== p.dynamic) return false;
      return true;
    };
  }

  redirect(p: RedirectPredicate): (r: Redirect, ctx: MatchContext) => boolean {
    const ops = list(p.op);
    const fds = list(p.fd);
    const target = p.target !== undefined ? this.word(p.target) : null;
    const text = p.text !== undefined ? this.word(p.text) : null;
    return (r, ctx) =>
      (ops.length === 0 || ops.includes(r.op)) &&
      // no descriptor written is bash's default: 0 for input, 1 for output
      (fds.length === 0 || fds.includes(r.fd ?? (r.op.startsWith('<') ? 0 : 1))) &&
      (target === null || (r.target !== null && target(r.target, ctx))) &&
      (text === null || (r.text !== undefined && text(r.text, ctx)));
  }

  assignment(p: AssignmentPredicate): (a: Script['assignments'][number], ctx: MatchContext) => boolean {
    const names = list(p.name);
    const nameRes = names.map((n) =>
      /[*?[]/.test(n)
        ? compileRegex(
            `^${n
              .replace(/[.+^${}()|\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.')}$`,
          )
        : null,
    );
    const value = p.value !== undefined ? this.word(p.value) : null;
    return (a, ctx) =>
      (names.length === 0 || names.some((n, k) => (nameRes[k] ? nameRes[k]!.test(a.name) : n === a.name))) &&
      (value === null || (a.value !== null && value(a.value, ctx))) &&
      (p.exported === undefined || a.exported === p.exported);
  }

  // -------------------------------------------------------------------------------------------
  // scripts

  match(def: MatchDefinition): ScriptMatcher {
    const parts: ScriptMatcher[] = [];
    if (def.segment) {
      const t = this.segment(def.segment);
      parts.push((sc, ctx) => {
        for (const s of sc.segments) if (t(s, sc, ctx)) return { segment: s.id, span: s.span };
        return null;
      });
    }
    if (def.flow) parts.push(this.flow(def.flow));
    if (def.redirect) {
      const { segment, ...rest } = def.redirect;
      const r = this.redirect(rest);
      const seg = segment ? this.segment(segment) : null;
      parts.push((sc, ctx) => {
        for (const x of sc.redirects) {
          if (!r(x, ctx)) continue;
          const owner = x.segments.find((id) => !seg || seg(sc.segments[id]!, sc, ctx));
          if (seg && owner === undefined) continue;
          return { segment: owner ?? null, span: x.span };
        }
        return null;
      });
    }
    if (def.assignment) {
      const a = this.assignment(def.assignment);
      parts.push((sc, ctx) => {
        for (const x of sc.assignments) if (a(x, ctx)) return { segment: x.segment, span: x.span };
        return null;
      });
    }
    const issues = list(def.issue);
    if (issues.length > 0) {
      parts.push((sc) => {
        const i = sc.issues.find((x) => issues.includes(x.code));
        return i ? { segment: null, span: i.span } : null;
      });
    }
    if (def.function) {
      const recursive = def.function.recursive;
      parts.push((sc) => {
        for (const f of sc.functions) {
          const calls = f.segments.some((id) => sc.segments[id]!.program === f.name);
          if (recursive === undefined || calls === recursive) return { segment: null, span: f.span };
        }
        return null;
      });
    }
    if (def.sequence) {
      const steps = def.sequence.map((p) => this.segment(p));
      parts.push((sc, ctx) => {
        let k = 0;
        let first: Segment | null = null;
        let last: Segment | null = null;
        for (const s of sc.segments) {
          if (k < steps.length && steps[k]!(s, sc, ctx)) {
            first ??= s;
            last = s;
            k++;
          }
        }
        return k === steps.length && first && last
          ? { segment: last.id, span: [first.span[0], Math.max(first.span[1], last.span[1])] }
          : null;
      });
    }
    if (def.any) {
      const alts = def.any.map((d) => this.match(d));
      parts.push((sc, ctx) => {
        for (const a of alts) {
          const h = a(sc, ctx);
          if (h) return h;
        }
        return null;
      });
    }
    if (def.all) {
      const all = def.all.map((d) => this.match(d));
      parts.push((sc, ctx) => {
        let hit: Hit | null = null;
        for (const a of all) {
          const h = a(sc, ctx);
          if (!h) return null;
          if (!hit || (hit.segment === null && h.segment !== null)) hit = h;
        }
        return hit;
      });
    }
    if (parts.length === 0) this.fail('empty match');
    if (parts.length === 1) return parts[0]!;
    return (sc, ctx) => {
      let hit: Hit | null = null;
      for (const p of parts) {
        const h = p(sc, ctx);
        if (!h) return null;
        if (!hit || (hit.segment === null && h.segment !== null)) hit = h;
      }
      return hit;
    };
  }

  private flow(def: NonNullable<MatchDefinition['flow']>): ScriptMatcher {
    const from = this.segment(def.from);
    const to = this.segment(def.to);
    const kinds = def.kinds ? new Set(def.kinds) : null;
    return (sc, ctx) => {
      if (sc.flows.length === 0) return null;
      const sources = sc.segments.filter((s) => from(s, sc, ctx));
      if (sources.length === 0) return null;
      const adjacency = new Map<number, number[]>();
      for (const f of sc.flows) {
        if (kinds && !kinds.has(f.kind)) continue;
        const next = adjacency.get(f.from) ?? [];
        next.push(f.to);
        adjacency.set(f.from, next);
      }
      for (const source of sources) {
        const seen = new Set<number>([source.id]);
        const queue = [source.id];
        while (queue.length > 0) {
          const id = queue.shift()!;
          for (const n of adjacency.get(id) ?? []) {
            if (seen.has(n)) continue;
            seen.add(n);
            const target = sc.segments[n]!;
            if (to(target, sc, ctx)) {
              return {
                segment: n,
                span: [Math.min(source.span[0], target.span[0]), Math.max(source.span[1], target.span[1])],
              };
            }
            queue.push(n);
          }
        }
      }
      return null;
    };
  }
}

/** The tool a runner starts (`npx eslint`, `python -m pytest`, `uv run ruff`), or null. */
export function runnerTool(s: Segment): string | null {
  if (s.program === null) return null;
  const tool = effectiveTool(s.program, s.argv.slice(1)).program;
  return tool === s.program ? null : tool;
}

/** Words that are not options: the operands a program acts on. */
export function positionals(argv: readonly Word[]): string[] {
  const out: string[] = [];
  let options = true;
  for (let i = 1; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (options && t === '--') {
      options = false;
      continue;
    }
    if (options && t.startsWith('-') && t.length > 1 && !argv[i]!.dynamic) continue;
    out.push(t);
  }
  return out;
}

/** `-r` is present in `-r`, `-rf`, `-fr`; `--force` in `--force` and `--force=…`; `-delete` exactly. */
export function hasFlag(argv: readonly Word[], flag: string): boolean {
  const long = flag.startsWith('--');
  const short = !long && flag.length === 2;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (t === '--') return false;
    if (w.dynamic || !t.startsWith('-')) continue;
    if (t === flag) return true;
    if (long) {
      if (t.startsWith(`${flag}=`)) return true;
    } else if (short) {
      if (!t.startsWith('--') && /^-[A-Za-z0-9]+$/.test(t) && t.includes(flag[1]!)) return true;
    }
  }
  return false;
}

/**
 * A registered option of one of `kinds` given a value that is a command (`never`), a run-time
 * word, or a path outside the project (a module path, not a bare module name). Flags alone and
 * `quiet` options are left to other rules (see RiskyOption.quiet).
 */
function hasRiskyOption(s: Segment, kinds: ReadonlySet<string>, ctx: MatchContext): boolean {
  for (const use of optionUses(s.program!, s.argv.slice(1))) {
    if (!kinds.has(use.kind) || use.safe || !use.spec || use.spec.quiet || use.spec.value === false || !use.word)
      continue;
    const w = use.word;
    if (w.dynamic || w.glob || use.spec.never) return true;
    if (use.spec.module && !w.text.includes('/')) continue;
    if (valuePaths(w).some((p) => outsideProject(p.text, ctx))) return true;
  }
  return false;
}

/** A word whose only run-time part is the home directory at its start. */
const HOME_WORD = /^(?:~[A-Za-z0-9_.-]*|\$HOME\b|\$\{HOME\})(?:\/[^$`]*)?$/;

const WRITE_OPS = new Set(['>', '>>', '>|', '&>', '&>>', '<>']);

function optionValues(argv: readonly Word[], names: readonly string[]): Word[] {
  const out: Word[] = [];
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    for (const n of names) {
      if (w.text === n && argv[i + 1]) out.push(argv[i + 1]!);
      else if (n.startsWith('--') && w.text.startsWith(`${n}=`)) out.push({ ...w, text: w.text.slice(n.length + 1) });
      else if (
        !n.startsWith('--') &&
        n.length === 2 &&
        w.text.startsWith(n) &&
        w.text.length > 2 &&
        !w.text.startsWith('--')
      )
        out.push({ ...w, text: w.text.slice(2) });
    }
  }
  return out;
}

/** Values of a short option that may end a bundle of flags (`-qO-`, `-qO file`, `-P dir`). */
function bundledValues(argv: readonly Word[], letter: string): Word[] {
  const out: Word[] = [];
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.text === '--') break;
    const m = /^-([a-zA-Z]*)$/.exec(w.text.split(letter)[0]!);
    if (!m || w.text.startsWith('--') || !w.text.slice(1).includes(letter)) continue;
    const rest = w.text.slice(w.text.indexOf(letter) + 1);
    if (rest !== '') out.push({ ...w, text: rest });
    else if (argv[i + 1]) out.push(argv[i + 1]!);
  }
  return out;
}

function positionalWords(argv: readonly Word[]): Word[] {
  const out: Word[] = [];
  let options = true;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    if (options && w.text === '--') {
      options = false;
      continue;
    }
    if (options && w.text.startsWith('-') && w.text.length > 1 && !w.dynamic) continue;
    out.push(w);
  }
  return out;
}

/**
 * The paths a segment writes: output redirects, and the destinations of programs that write
 * files (tee, cp, mv, install, ln, dd of=, sed -i, truncate, touch, curl -o, wget -O …).
 */
export function writtenPaths(s: Segment): Word[] {
  const out: Word[] = [];
  for (const r of s.redirects) if (WRITE_OPS.has(r.op) && r.target && !/^\d+$/.test(r.target.text)) out.push(r.target);
  // `>& file` (and `&> file`) sends both outputs to a file: a write, unlike `>&2`
  for (const r of s.redirects) if (r.op === '>&' && r.target && !/^(?:\d+|-)$/.test(r.target.text)) out.push(r.target);
  // options that write a file: `sort -o F`, `tree -o F`, `cargo test -- --logfile F`, `--cov-report=xml:F`
  if (s.program !== null)
    for (const use of optionUses(s.program, s.argv.slice(1)))
      if (use.kind === 'write' && use.word) out.push(...valuePaths(use.word));
  const argv = s.argv;
  const pos = positionalWords(argv);
  switch (s.program) {
    case 'tee':
    case 'truncate':
    case 'touch':
    case 'sponge':
    case 'shred':
      out.push(...pos);
      break;
    case 'cp':
    case 'mv':
    case 'install':
    case 'ln':
    case 'rsync':
    case 'ditto':
    case 'rcp':
      if (pos.length > 1) out.push(pos[pos.length - 1]!);
      out.push(...optionValues(argv, ['-t', '--target-directory']));
      break;
    case 'dd':
      for (const w of argv) if (w.text.startsWith('of=')) out.push({ ...w, text: w.text.slice(3) });
      break;
    case 'sed':
    case 'perl':
    case 'ruby':
      if (argv.some((w) => /^-[a-zA-Z]*i/.test(w.text) || w.text.startsWith('--in-place'))) {
        const explicit = argv.some((w) => w.text === '-e' || w.text === '-f' || w.text === '--expression');
        out.push(...(explicit ? pos : pos.slice(1)));
      }
      break;
    case 'curl':
    case 'nscurl': {
      out.push(...optionValues(argv, ['-o', '--output']));
      // `-O` names the file after the URL, in --output-dir or the working directory
      if (
        argv.some(
          (w) =>
            /^-[a-zA-Z]*[OJ][a-zA-Z]*$|^--remote-name(?:-all)?$|^--remote-header-name$/.test(w.text) &&
            !w.text.startsWith('--output'),
        )
      ) {
        const dir = optionValues(argv, ['--output-dir']);
        out.push(...(dir.length ? dir : [here(s)]));
      }
      break;
    }
    case 'wget':
    case 'wget2': {
      // `-qO-`: a bundle of flags ending in O, its value attached or the next word
      const doc = [...optionValues(argv, ['--output-document']), ...bundledValues(argv, 'O')];
      if (doc.length) out.push(...doc);
      else if (!argv.some((w) => w.text === '--spider')) {
        const dir = [...optionValues(argv, ['--directory-prefix']), ...bundledValues(argv, 'P')];
        out.push(...(dir.length ? dir : [here(s)]));
      }
      break;
    }
    case 'aria2c': {
      // `-o NAME` is relative to `-d DIR`
      const dir = optionValues(argv, ['-d', '--dir']);
      const named = dir.length ? dir : optionValues(argv, ['-o', '--out']);
      out.push(...(named.length ? named : [here(s)]));
      break;
    }
    case 'axel': {
      const named = optionValues(argv, ['-o', '--output']);
      out.push(...(named.length ? named : [here(s)]));
      break;
    }
    case 'lwp-download':
      out.push(pos[1] ?? here(s));
      break;
    case 'scp':
      if (pos.length > 1) out.push(pos[pos.length - 1]!);
      break;
    case 'sftp':
    case 'get':
    case 'mget':
    case 'smbget':
    case 'lwp-mirror':
      out.push(pos.length > 1 && s.program === 'lwp-mirror' ? pos[1]! : here(s));
      break;
    case 'aws':
      // `aws s3 cp|sync|mv SRC DEST`: the last word that is not an option
      if (pos[0]?.text === 's3' && ['cp', 'sync', 'mv'].includes(pos[1]?.text ?? '') && pos.length > 3)
        out.push(pos[pos.length - 1]!);
      break;
    case 'uniq':
      // uniq INPUT OUTPUT
      if (pos.length > 1) out.push(pos[1]!);
      break;
    case 'crontab':
    case 'visudo':
    case 'vipw':
      break;
  }
  // an option the registry knows and the tool's own case below may name the same word; `-`
  // is standard output
  const seen = new Set<string>();
  return out.filter((w) => {
    if (w.text === '-') return false;
    const key = `${w.span[0]}:${w.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SEARCH_TOOLS = new Set(['grep', 'egrep', 'fgrep', 'rg', 'ag', 'ack', 'zgrep']);
const COPY_TOOLS = new Set(['cp', 'mv', 'install', 'ln', 'rsync', 'scp']);

/**
 * What a segment reads: its arguments, input redirects, and `if=` for dd — except the words
 * that are known not to be read: the pattern a search tool looks for (`rg process.env` reads no
 * `.env`), the destination of a copy (`cp .env.example .env` writes `.env`).
 */
export function readPaths(s: Segment): Word[] {
  const out: Word[] = [];
  let args = s.argv.slice(1);
  if (
    s.program !== null &&
    SEARCH_TOOLS.has(s.program) &&
    !args.some((w) => /^-[A-Za-z]*[ef]$|^--(?:regexp|file)(?:=|$)/.test(w.text))
  ) {
    const pattern = args.findIndex((w) => !w.text.startsWith('-') || w.dynamic);
    if (pattern !== -1) args = args.filter((_, i) => i !== pattern);
  }
  if (s.program !== null && COPY_TOOLS.has(s.program) && !args.some((w) => /^-t|^--target-directory/.test(w.text))) {
    const operands = args.map((w, i) => (!w.text.startsWith('-') || w.dynamic ? i : -1)).filter((i) => i !== -1);
    if (operands.length >= 2) args = args.filter((_, i) => i !== operands[operands.length - 1]);
  }
  for (const w of args) {
    out.push(w);
    const eq = w.text.indexOf('=');
    // `if=/dev/sda`, `--file=x`, `-Fx`: the value is a path too
    if (eq > 0 && eq < w.text.length - 1) out.push({ ...w, text: w.text.slice(eq + 1) });
  }
  for (const r of s.redirects) if ((r.op === '<' || r.op === '<>') && r.target) out.push(r.target);
  // options that read a file they print or send: `--files0-from=F`, `-o go-template-file=F`, `--rawfile k F`
  if (s.program !== null)
    for (const use of optionUses(s.program, s.argv.slice(1)))
      if (use.kind === 'read' && use.word) out.push(...valuePaths(use.word));
  return out;
}

/** The paths in an option's value: itself, and what follows `@`, `<`, `:` or `=` (`xml:F`, `go-template-file=F`, `@F`). */
/** The working directory as a word: where a download lands when no destination is named. */
function here(s: Segment): Word {
  return { text: '.', dynamic: false, glob: false, span: s.argv[0]?.span ?? [0, 0] };
}

function valuePaths(w: Word): Word[] {
  const out: Word[] = [w];
  const m = /^[^@<:=]*[@<:=]+(.+)$/.exec(w.text);
  if (m && m[1] !== w.text) out.push({ ...w, text: m[1]! });
  return out;
}

function isProtected(text: string, ctx: MatchContext): boolean {
  const forms = pathForms(text, ctx);
  if (forms.some((f) => /(?:^|\/)\.policy-gate(?:\/|$)/.test(f))) return true;
  for (const p of ctx.protectedPaths ?? []) {
    const base = p.replace(/\/+$/, '');
    if (forms.some((f) => f === base || f.startsWith(`${base}/`))) return true;
  }
  return false;
}

const LOOPBACK =
  /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0)(?::\d{1,5})?(?:[/?#][^\s@\\]*)?$/i;
/** Looks like a URL or a host (with a dot, a port or a scheme), not like a header or data. */
const HOST_LIKE = new RegExp(
  `^(?:${[
    /[a-z][a-z0-9+.-]*:\/\/\S+/, // scheme://, then anything
    /\[[0-9a-f:]+\](?::\d+)?\S*/, // [IPv6], optionally :port, then anything
    /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+(?::\d+)?(?:[/?#]\S*)?/, // dotted name, optionally :port and a path
    /[A-Za-z0-9_.-]+:\d+(?:[/?#]\S*)?/, // name:port, optionally a path
    /localhost(?:[/?#]\S*)?/, // localhost, optionally a path
  ]
    .map((r) => r.source)
    .join('|')})$`,
  'i',
);

/** A URL or host[:port][/path] whose host is this machine. */
export function isLoopback(text: string): boolean {
  return LOOPBACK.test(text);
}

/** Every word that names a URL or host names this machine, and one does. */
function localOnly(s: Segment): boolean {
  let any = false;
  for (const w of s.argv.slice(1)) {
    if (w.text.startsWith('-')) continue;
    if (w.dynamic) {
      if (/^\S*:\/\//.test(w.text) || /^\$/.test(w.text)) return false;
      continue;
    }
    if (isLoopback(w.text)) any = true;
    else if (HOST_LIKE.test(w.text)) return false;
  }
  return any;
}

/** `user@host:path`, `host:path` (scp/rsync syntax) or a URL with a host. */
export function isRemote(text: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^\s/]/i.test(text)) return true;
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('~')) return false;
  return /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9._-]*:(?!\/\/)/.test(text) && !/^[A-Za-z]:\\/.test(text);
}
