/**
 * Program grammars: how a program's argv says what it runs. Each reads decoded words only (no
 * tree, no walker): a pure function of the argv and the program's registry entry, returning
 * what to parse (Run). The walker (programs.ts) parses each Run into nested segments.
 */
import { joinSpan, type WordEx } from './decode.js';
import type { IssueCode, Via } from './ir.js';
import {
  COMMAND_CARRIERS,
  INTERPRETERS,
  PROGRAMS,
  SHELLS,
  SHELL_VALUE_OPTIONS,
  type CommandCarrierSpec,
  type EscapeSyntax,
  type InterpreterSpec,
  type ProgramSpec,
  type WrapperSpec,
} from './registry.js';

/** Something a program runs, for the walker to parse: the result of a grammar. */
export type Run =
  /** A word that is a shell script (`sh -c WORD`); `remote`, the host it runs on. */
  | { readonly kind: 'script'; readonly word: WordEx; readonly via: Via; readonly remote?: string | null }
  /** Words that a shell joins with blanks and runs as a script (`eval a b`, `ssh host a b`). */
  | { readonly kind: 'joined'; readonly words: readonly WordEx[]; readonly via: Via; readonly remote?: string | null }
  /** Words that are the argv of a command (`find -exec rm {} ;`), itself unwrapped and read. */
  | { readonly kind: 'argv'; readonly words: readonly WordEx[]; readonly via: Via; readonly remote?: string }
  /** A command line in a syntax (`trap 'CMD' EXIT`, `vim -c ':!CMD'`); `via` defaults to command-string. */
  | { readonly kind: 'line'; readonly word: WordEx; readonly syntax: EscapeSyntax; readonly via?: Via }
  /** Code in another language (`python -c CODE`): the segment's payload. */
  | { readonly kind: 'code'; readonly word: WordEx; readonly language: string }
  /** The program reads a script (`language` null: a shell's) or code from its standard input. */
  | { readonly kind: 'stdin'; readonly language: string | null }
  /** Something about the command a reviewer must know (`alias` redefines commands). */
  | { readonly kind: 'issue'; readonly code: IssueCode; readonly message: string };

/**
 * Everything a program runs, by the registry: its shell or program grammar, then its
 * interpreter's code, then the command lines its options carry.
 */
export function programRuns(program: string, argv: readonly WordEx[]): Run[] {
  const runs: Run[] = [];
  if (SHELLS.has(program)) runs.push(...shellRuns(argv));
  else {
    const spec = PROGRAMS[program];
    if (spec) runs.push(...grammarRuns(spec, argv));
  }
  const interpreter = INTERPRETERS[program];
  if (interpreter) runs.push(...interpreterRuns(argv, interpreter));
  const carrier = COMMAND_CARRIERS[program];
  if (carrier) for (const { word, syntax } of carriedCommands(argv, carrier)) runs.push({ kind: 'line', word, syntax });
  return runs;
}

/** Each kind of PROGRAMS entry, read. */
function grammarRuns(spec: ProgramSpec, argv: readonly WordEx[]): Run[] {
  switch (spec.kind) {
    case 'eval':
      return evalRuns(argv);
    case 'remote-shell':
      return remoteShellRuns(argv, spec.valueOptions);
    case 'exec-action':
      return execActionRuns(argv, spec.actions, spec.terminators);
    case 'trap':
      return trapRuns(argv);
    case 'docker':
      return containerRuns(dockerCommand(argv, spec.valueOptions, spec.composeValueOptions));
    case 'kubectl':
      return containerRuns(afterDashes(argv, spec.verbs));
    case 'parallel':
      return parallelRuns(argv, spec.valueOptions, spec.argumentSeparators);
    case 'alias':
      return aliasRuns(argv);
    case 'git':
      return gitRuns(argv, spec.globalValueOptions, spec.subcommandCarriers);
  }
}

// -------------------------------------------------------------------------------------------------
// wrappers (WRAPPERS)

interface Unwrapped {
  inner: WordEx[];
  /** How many words of argv belong to the wrapper itself. */
  consumed: number;
  assignments: WordEx[];
  commandString: WordEx | null;
  noCommand: boolean;
  /** `watch -x`: the words are an argv, not a shell string. */
  execForm: boolean;
}

function optionValue(
  word: string,
  options: readonly string[] | undefined,
): { option: string; attached: string | null } | null {
  if (!options) return null;
  for (const o of options) {
    if (word === o) return { option: o, attached: null };
    if (o.startsWith('--') && word.startsWith(`${o}=`)) return { option: o, attached: word.slice(o.length + 1) };
    if (!o.startsWith('--') && o.length === 2 && word.startsWith(o) && word.length > 2)
      return { option: o, attached: word.slice(2) };
  }
  return null;
}

export function unwrap(argv: WordEx[], spec: WrapperSpec): Unwrapped {
  const result: Unwrapped = {
    inner: [],
    consumed: argv.length,
    assignments: [],
    commandString: null,
    noCommand: false,
    execForm: false,
  };
  let positionals = spec.positionals ?? 0;
  let i = 1;
  const split: WordEx[] = [];
  for (; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (w.dynamic) break;
    if (t === '--') {
      i++;
      break;
    }
    // env and sudo take NAME=value; for other wrappers bash would not, but reading it as an
    // assignment can only add signals, never hide one
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(t) && (spec.assignments || positionals === 0)) {
      result.assignments.push(w);
      continue;
    }
    if (t.startsWith('-') && t !== '-' && !(positionals === 0 && spec.firstPositionalIsProgram)) {
      if (spec.noCommandOptions?.includes(t)) result.noCommand = true;
      if (t === '-x' || t === '--exec') result.execForm = true;
      const cs = optionValue(t, spec.commandStringOptions);
      if (cs) {
        const value = cs.attached !== null ? { ...w, text: cs.attached, exact: null } : argv[++i];
        if (value) result.commandString = value;
        continue;
      }
      const ss = optionValue(t, spec.splitStringOptions);
      if (ss) {
        const value = cs === null && ss.attached !== null ? ss.attached : argv[++i]?.text;
        if (value !== undefined) for (const part of splitWords(value)) split.push({ ...w, text: part, exact: null });
        continue;
      }
      const vo = optionValue(t, spec.valueOptions);
      if (vo) {
        if (vo.attached === null) i++;
        continue;
      }
      if (!t.startsWith('--') && spec.valueOptions) {
        // bundled short options: the last one may take the next word (`sudo -Eu root`)
        const letters = t.slice(1);
        let consumed = false;
        for (let k = 0; k < letters.length; k++) {
          if (spec.noCommandOptions?.includes(`-${letters[k]}`)) result.noCommand = true;
          if (spec.valueOptions.includes(`-${letters[k]}`)) {
            if (k === letters.length - 1) i++;
            consumed = true;
            break;
          }
        }
        if (consumed) continue;
      }
      continue;
    }
    if (positionals > 0) {
      positionals--;
      continue;
    }
    break;
  }
  if (spec.commandStringOptions && result.commandString === null) {
    // `su root -c 'cmd'`: options may follow the positional
    for (let k = i; k < argv.length; k++) {
      const cs = optionValue(argv[k]!.text, spec.commandStringOptions);
      if (cs) {
        result.commandString =
          cs.attached !== null ? { ...argv[k]!, text: cs.attached, exact: null } : (argv[k + 1] ?? null);
        break;
      }
    }
    if (result.commandString) return result;
  }
  if (result.commandString) return result;
  if (spec.commandOnlyAsString) {
    // `su - alice`, `su alice arg…`: a login shell for that user, not a command named alice
    result.noCommand = true;
    return result;
  }
  result.inner = [...split, ...argv.slice(i)];
  result.consumed = Math.min(i, argv.length);
  return result;
}

/** A minimal word splitter for `env -S 'a b'`: whitespace, single and double quotes. */
function splitWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

// -------------------------------------------------------------------------------------------------
// shells (SHELLS)

interface ShellInvocation {
  command: WordEx | null;
  readsStdin: boolean;
}

function shellInvocation(argv: readonly WordEx[]): ShellInvocation {
  let c = false;
  let s = false;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (t === '--' || t === '-') {
      const rest = argv[i + 1];
      if (c) return { command: rest ?? null, readsStdin: false };
      return { command: null, readsStdin: rest === undefined };
    }
    if (!w.dynamic && (t.startsWith('-') || t.startsWith('+')) && t.length > 1) {
      if (SHELL_VALUE_OPTIONS.has(t)) {
        i++;
        continue;
      }
      if (t.startsWith('--')) {
        if (t === '--rcfile' || t === '--init-file') i++;
        continue;
      }
      const letters = t.slice(1);
      if (t.startsWith('-') && letters.includes('c')) c = true;
      if (t.startsWith('-') && letters.includes('s')) s = true;
      if (letters.endsWith('o') || letters.endsWith('O')) i++;
      continue;
    }
    if (c) return { command: w, readsStdin: false };
    if (s) return { command: null, readsStdin: true };
    return { command: null, readsStdin: false }; // a script file
  }
  return { command: null, readsStdin: !c };
}

/** `sh -c STRING` runs STRING; `sh`, `sh -s` or `sh -` read their script from standard input. */
function shellRuns(argv: readonly WordEx[]): Run[] {
  const inv = shellInvocation(argv);
  if (inv.command) return [{ kind: 'script', word: inv.command, via: 'shell-c' }];
  return inv.readsStdin ? [{ kind: 'stdin', language: null }] : [];
}

// -------------------------------------------------------------------------------------------------
// program grammars (PROGRAMS)

/** `eval ARGS…`: the arguments joined are a script (eval, like every builtin, takes `--`). */
function evalRuns(argv: readonly WordEx[]): Run[] {
  const args = argv[1] && !argv[1].dynamic && argv[1].text === '--' ? argv.slice(2) : argv.slice(1);
  if (args.length === 1) return [{ kind: 'script', word: args[0]!, via: 'eval' }];
  if (args.length > 1) return [{ kind: 'joined', words: args, via: 'eval' }];
  return [];
}

/** `ssh [OPTIONS] HOST CMD…`: CMD is a script the remote user's shell runs on HOST. */
function remoteShellRuns(argv: readonly WordEx[], valueOptions: ReadonlySet<string>): Run[] {
  const { host, command } = remoteCommand(argv, valueOptions);
  if (command.length === 0) return [];
  if (command.length === 1) return [{ kind: 'script', word: command[0]!, via: 'ssh', remote: host }];
  return [{ kind: 'joined', words: command, via: 'ssh', remote: host }];
}

function remoteCommand(
  argv: readonly WordEx[],
  valueOptions: ReadonlySet<string>,
): { host: string | null; command: WordEx[] } {
  for (let i = 1; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') return { host: argv[i + 1]?.text ?? null, command: argv.slice(i + 2) };
    if (t.startsWith('-') && t.length > 1) {
      const letters = t.slice(1);
      for (let k = 0; k < letters.length; k++) {
        if (valueOptions.has(`-${letters[k]}`)) {
          if (k === letters.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return { host: t, command: argv.slice(i + 1) };
  }
  return { host: null, command: [] };
}

/** `find … -exec CMD… ;`: each action's words up to its terminator are a command. */
function execActionRuns(argv: readonly WordEx[], actions: readonly string[], terminators: readonly string[]): Run[] {
  const runs: Run[] = [];
  for (let i = 1; i < argv.length; i++) {
    if (!actions.includes(argv[i]!.text)) continue;
    let j = i + 1;
    while (j < argv.length && !terminators.includes(argv[j]!.text)) j++;
    const cmd = argv.slice(i + 1, j);
    if (cmd.length > 0) runs.push({ kind: 'argv', words: cmd, via: 'find-exec' });
    i = j;
  }
  return runs;
}

/** `trap ACTION SIGNAL…`: ACTION is a command line (a last word alone is a signal: `trap INT` resets it). */
function trapRuns(argv: readonly WordEx[]): Run[] {
  const action = argv.slice(1).find((w) => !w.text.startsWith('-'));
  if (action && action.text !== '' && action !== argv[argv.length - 1])
    return [{ kind: 'line', word: action, syntax: 'shell' }];
  return [];
}

/** A command that runs inside a container: read as a command of its own, on another host. */
function containerRuns(cmd: WordEx[]): Run[] {
  return cmd.length > 0 ? [{ kind: 'argv', words: cmd, via: 'container', remote: 'container' }] : [];
}

/**
 * `docker exec [OPTIONS] CONTAINER CMD…`, `docker run [OPTIONS] IMAGE CMD…`, also as
 * `docker container exec` and `docker compose [OPTIONS] exec SERVICE CMD…`.
 */
function dockerCommand(
  argv: readonly WordEx[],
  valueOptions: ReadonlySet<string>,
  composeValueOptions: ReadonlySet<string>,
): WordEx[] {
  let i = 1;
  // `docker container exec`, `docker compose exec SERVICE CMD` (compose's own flags before it)
  if (argv[i]?.text === 'container') i++;
  else if (argv[i]?.text === 'compose') {
    for (i++; i < argv.length && argv[i]!.text.startsWith('-'); i++) if (composeValueOptions.has(argv[i]!.text)) i++;
  }
  const sub = argv[i]?.text;
  if (sub !== 'exec' && sub !== 'run') return [];
  for (i++; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (!t.startsWith('-') || t === '-') break;
    if (valueOptions.has(t)) i++;
  }
  return argv.slice(i + 1); // skip the container or image name
}

/** `kubectl exec|run|debug … -- CMD…`: the words after `--`, when one of `verbs` comes before it. */
function afterDashes(argv: readonly WordEx[], verbs: readonly string[]): WordEx[] {
  const dash = argv.findIndex((w) => w.text === '--');
  if (dash === -1 || !argv.slice(1, dash).some((w) => verbs.includes(w.text))) return [];
  return argv.slice(dash + 1);
}

/** `parallel [OPTIONS] CMD… ::: ARGS`: CMD's words joined are a script run once per argument. */
function parallelRuns(
  argv: readonly WordEx[],
  valueOptions: ReadonlySet<string>,
  argumentSeparators: readonly string[],
): Run[] {
  let i = 1;
  for (; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (t.startsWith('-')) {
      if (valueOptions.has(t)) i++;
      continue;
    }
    break;
  }
  const cmd: WordEx[] = [];
  for (; i < argv.length; i++) {
    if (argumentSeparators.includes(argv[i]!.text)) break;
    cmd.push(argv[i]!);
  }
  return cmd.length > 0 ? [{ kind: 'joined', words: cmd, via: 'parallel' }] : [];
}

/** `alias NAME=VALUE…`: each VALUE is a command line, run wherever NAME is later. */
function aliasRuns(argv: readonly WordEx[]): Run[] {
  const runs: Run[] = [
    {
      kind: 'issue',
      code: 'alias-definition',
      message: 'defines an alias: later commands may not be what they look like',
    },
  ];
  for (const w of argv.slice(1)) {
    const eq = w.text.indexOf('=');
    if (eq > 0)
      runs.push({
        kind: 'line',
        word: { ...w, text: w.text.slice(eq + 1), exact: w.exact === null ? null : w.exact + eq + 1 },
        syntax: 'shell',
        via: 'variable',
      });
  }
  return runs;
}

/**
 * Commands git subcommands run: `difftool -x CMD`, `rebase --exec CMD`, `filter-branch
 * --tree-filter CMD` and `submodule foreach CMD` hand a command line to the shell; `bisect run
 * CMD ARGS…` runs a program with its arguments.
 */
function gitRuns(
  argv: readonly WordEx[],
  globalValueOptions: ReadonlySet<string>,
  subcommandCarriers: Readonly<Record<string, CommandCarrierSpec>>,
): Run[] {
  const args = argv.slice(1);
  let i = 0;
  while (i < args.length && args[i]!.text.startsWith('-') && !args[i]!.dynamic)
    i += globalValueOptions.has(args[i]!.text) ? 2 : 1;
  const sub = args[i]?.text;
  const rest = args.slice(i + 1);
  const spec = sub === undefined ? undefined : subcommandCarriers[sub];
  if (spec)
    return carriedCommands([args[i]!, ...rest], spec).map(({ word, syntax }): Run => ({ kind: 'line', word, syntax }));
  // `submodule [options] foreach [--recursive] CMD…`, `bisect run CMD…`
  const verb = sub === 'submodule' ? 'foreach' : sub === 'bisect' ? 'run' : null;
  if (verb === null) return [];
  const at = rest.findIndex((w) => !w.text.startsWith('-'));
  if (at === -1 || rest[at]!.text !== verb) return [];
  let k = at + 1;
  while (k < rest.length && rest[k]!.text.startsWith('-') && !rest[k]!.dynamic) k++;
  const cmd = rest.slice(k);
  if (cmd.length === 0) return [];
  if (verb === 'foreach')
    return cmd.length === 1
      ? [{ kind: 'line', word: cmd[0]!, syntax: 'shell' }]
      : [{ kind: 'joined', words: cmd, via: 'command-string' }];
  return [{ kind: 'argv', words: cmd, via: 'command-string' }];
}

// -------------------------------------------------------------------------------------------------
// interpreters (INTERPRETERS) and options that carry commands (COMMAND_CARRIERS)

/** An interpreter's code is its payload; with none given it reads standard input. */
function interpreterRuns(argv: readonly WordEx[], spec: InterpreterSpec): Run[] {
  const code = interpreterCode(argv, spec);
  if (code === 'stdin') return [{ kind: 'stdin', language: spec.language }];
  return code ? [{ kind: 'code', word: code, language: spec.language }] : [];
}

/**
 * The code an interpreter runs: the value(s) of its code options (several `-e` are joined, as
 * perl and osascript do), its first operand for awk-like programs, or standard input.
 */
function interpreterCode(argv: readonly WordEx[], spec: InterpreterSpec): WordEx | 'stdin' | null {
  const parts: WordEx[] = [];
  let sawPositional = false;
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    if (spec.codeOptions.includes(t)) {
      const code = argv[++i];
      if (code) parts.push(code);
      continue;
    }
    const attached = spec.codeOptions.find(
      (o) => o.length === 2 && t.startsWith(o) && t.length > 2 && !t.startsWith('--'),
    );
    if (attached) {
      parts.push({ ...w, text: t.slice(2), exact: w.exact === null ? null : w.exact + 2 });
      continue;
    }
    // perl -le 'code', python -Bc 'code': a code option bundled after flags
    if (/^-[A-Za-z]+$/.test(t) && spec.codeOptions.some((o) => o.length === 2 && t.endsWith(o[1]!))) {
      const code = argv[++i];
      if (code) parts.push(code);
      continue;
    }
    if (parts.length > 0) {
      // after inline code, the rest are arguments to it
      if (t.startsWith('-')) continue;
      break;
    }
    if (t === '-') return 'stdin';
    // a module or a program file runs instead of inline code
    if (t === '-m' || (spec.language === 'awk' && t === '-f')) return null;
    if (t === '--') {
      sawPositional = true;
      break;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (spec.valueOptions?.includes(t)) i++;
      continue;
    }
    if (spec.programIsFirstPositional) return w;
    sawPositional = true;
    break;
  }
  if (parts.length === 1) return parts[0]!;
  if (parts.length > 1) {
    return {
      text: parts.map((p) => p.text).join('\n'),
      dynamic: parts.some((p) => p.dynamic),
      glob: false,
      span: joinSpan(parts[0]!.span, parts[parts.length - 1]!.span),
      exact: null,
      substituted: parts.some((p) => p.substituted),
    };
  }
  return sawPositional ? null : spec.programIsFirstPositional ? null : 'stdin';
}

interface Carried {
  word: WordEx;
  syntax: EscapeSyntax;
}

function carriedCommands(argv: readonly WordEx[], spec: CommandCarrierSpec): Carried[] {
  const out: Carried[] = [];
  const take = (w: WordEx, text: string, syntax: EscapeSyntax, offset: number | null): void => {
    out.push({ word: { ...w, text, exact: w.exact === null || offset === null ? null : w.exact + offset }, syntax });
  };
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const t = w.text;
    let matched = false;
    for (const [key, syntax] of Object.entries(spec.options ?? {})) {
      const space = key.indexOf(' ');
      if (space !== -1) {
        // `-o Key=` / `-c alias.`: an option, then a word starting with a prefix
        const opt = key.slice(0, space);
        const prefix = key.slice(space + 1);
        const valueWord =
          t === opt
            ? argv[i + 1]
            : t.startsWith(opt) && t.length > opt.length
              ? { ...w, text: t.slice(opt.length), exact: w.exact === null ? null : w.exact + opt.length }
              : undefined;
        if (!valueWord || !valueWord.text.toLowerCase().startsWith(prefix.toLowerCase())) continue;
        const rest = valueWord.text.slice(prefix.length);
        const eq = prefix.endsWith('=') ? -1 : rest.indexOf('=');
        const start = prefix.length + (eq === -1 ? 0 : eq + 1);
        take(valueWord, valueWord.text.slice(start), syntax, start);
        if (t === opt) i++;
        matched = true;
        break;
      }
      if (key.endsWith('=') || key.endsWith('.')) {
        if (t.startsWith(key)) {
          let value = t.slice(key.length);
          if (key.includes(':')) value = value.split(',')[0]!;
          take(w, value, syntax, key.length);
          matched = true;
          break;
        }
        continue;
      }
      if (t === key) {
        const next = argv[i + 1];
        if (next) take(next, next.text, syntax, 0);
        i++;
        matched = true;
        break;
      }
      if (key.startsWith('--') && t.startsWith(`${key}=`)) {
        take(w, t.slice(key.length + 1), syntax, key.length + 1);
        matched = true;
        break;
      }
      if (!key.startsWith('--') && key.length === 2 && t.startsWith(key) && t.length > 2) {
        take(w, t.slice(2), syntax, 2);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    for (const [prefix, syntax] of Object.entries(spec.prefixes ?? {})) {
      if (t.startsWith(prefix)) {
        take(w, t.slice(prefix.length).split(',')[0]!, syntax, prefix.length);
        matched = true;
        break;
      }
    }
    if (!matched && spec.positionals && !t.startsWith('-')) take(w, t, spec.positionals, 0);
  }
  return out;
}
