/**
 * Option grammars: how a program's argv says what it runs. Each reads decoded words only (no
 * tree, no walker), so each is a pure function of the argv and its registry entry.
 */
import { joinSpan, type WordEx } from './decode.js';
import {
  SHELL_VALUE_OPTIONS,
  type CommandCarrierSpec,
  type EscapeSyntax,
  type InterpreterSpec,
  type WrapperSpec,
} from './registry.js';

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

interface ShellInvocation {
  command: WordEx | null;
  readsStdin: boolean;
}

export function shellInvocation(argv: readonly WordEx[]): ShellInvocation {
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

const SSH_VALUE_OPTIONS = new Set('bcDEeFIiJLlmOopQRSWwB'.split('').map((l) => `-${l}`));

export function sshInvocation(argv: readonly WordEx[]): { host: string | null; command: WordEx[] } {
  for (let i = 1; i < argv.length; i++) {
    const t = argv[i]!.text;
    if (t === '--') return { host: argv[i + 1]?.text ?? null, command: argv.slice(i + 2) };
    if (t.startsWith('-') && t.length > 1) {
      const letters = t.slice(1);
      for (let k = 0; k < letters.length; k++) {
        if (SSH_VALUE_OPTIONS.has(`-${letters[k]}`)) {
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

export const CONTAINER_RUNNERS = new Set(['docker', 'podman', 'nerdctl', 'kubectl', 'oc']);

const DOCKER_VALUE_OPTIONS = new Set([
  '-v',
  '--volume',
  '-e',
  '--env',
  '--env-file',
  '--name',
  '-p',
  '--publish',
  '-w',
  '--workdir',
  '-u',
  '--user',
  '--entrypoint',
  '--network',
  '--net',
  '-m',
  '--memory',
  '--cpus',
  '--mount',
  '-l',
  '--label',
  '--hostname',
  '-h',
  '--add-host',
  '--device',
  '--cap-add',
  '--cap-drop',
  '--security-opt',
  '--restart',
  '--pull',
  '--platform',
  '--log-driver',
  '--log-opt',
  '--tmpfs',
  '--ulimit',
  '--ipc',
  '--pid',
  '--shm-size',
  '--gpus',
  '--runtime',
  '--dns',
  '--expose',
  '--link',
  '--volumes-from',
  '--detach-keys',
  '-a',
  '--attach',
  '--cidfile',
  '--group-add',
  '--stop-signal',
  '--stop-timeout',
  '--health-cmd',
  '--userns',
  '--uts',
  '--cgroupns',
  '--index',
  '--cpuset-cpus',
  '--memory-swap',
  '--storage-opt',
  '--sysctl',
  '--label-file',
]);

/** `docker compose` options before its subcommand that take a value. */
const COMPOSE_VALUE_OPTIONS = new Set([
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--project-directory',
  '--env-file',
  '--profile',
  '--ansi',
  '--progress',
]);

/**
 * The command a container runner starts inside a container: `kubectl exec|run|debug … -- CMD`,
 * `docker exec [opts] CONTAINER CMD`, `docker run [opts] IMAGE CMD`.
 */
export function containerCommand(program: string, argv: readonly WordEx[]): WordEx[] {
  if (program === 'kubectl' || program === 'oc') {
    const dash = argv.findIndex((w) => w.text === '--');
    if (dash === -1 || !argv.slice(1, dash).some((w) => ['exec', 'run', 'debug'].includes(w.text))) return [];
    return argv.slice(dash + 1);
  }
  let i = 1;
  // `docker container exec`, `docker compose exec SERVICE CMD` (compose's own flags before it)
  if (argv[i]?.text === 'container') i++;
  else if (argv[i]?.text === 'compose') {
    for (i++; i < argv.length && argv[i]!.text.startsWith('-'); i++) if (COMPOSE_VALUE_OPTIONS.has(argv[i]!.text)) i++;
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
    if (DOCKER_VALUE_OPTIONS.has(t)) i++;
  }
  return argv.slice(i + 1); // skip the container or image name
}

export function parallelCommand(argv: readonly WordEx[]): WordEx[] {
  const valueOptions = new Set([
    '-j',
    '--jobs',
    '-S',
    '--sshlogin',
    '-a',
    '--arg-file',
    '-d',
    '--delimiter',
    '-I',
    '--colsep',
    '-N',
    '-n',
    '--max-args',
    '--joblog',
    '--results',
    '--tmpdir',
    '--timeout',
    '--delay',
  ]);
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
    const t = argv[i]!.text;
    if (t === ':::' || t === '::::' || t === ':::+' || t === '::::+') break;
    cmd.push(argv[i]!);
  }
  return cmd;
}

/**
 * The code an interpreter runs: the value(s) of its code options (several `-e` are joined, as
 * perl and osascript do), its first operand for awk-like programs, or standard input.
 */
export function interpreterCode(argv: readonly WordEx[], spec: InterpreterSpec): WordEx | 'stdin' | null {
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

/** git's global options that take the next word as their value. */
export const GIT_GLOBAL_VALUES = new Set([
  '-C',
  '-c',
  '--git-dir',
  '--work-tree',
  '--namespace',
  '--config-env',
  '--exec-path',
  '--super-prefix',
  '--list-cmds',
]);

/** Options of git subcommands whose value is a command line for the shell. */
export const GIT_SUBCOMMAND_CARRIERS: Readonly<Record<string, CommandCarrierSpec>> = {
  difftool: { options: { '-x': 'shell', '--extcmd': 'shell' } },
  mergetool: { options: { '--tool-cmd': 'shell' } },
  // (`--exec` is a carrier of every git command: COMMAND_CARRIERS)
  rebase: { options: { '-x': 'shell' } },
  'filter-branch': {
    options: {
      '--env-filter': 'shell',
      '--tree-filter': 'shell',
      '--index-filter': 'shell',
      '--parent-filter': 'shell',
      '--msg-filter': 'shell',
      '--commit-filter': 'shell',
      '--tag-name-filter': 'shell',
    },
  },
};

interface Carried {
  word: WordEx;
  syntax: EscapeSyntax;
}

export function carriedCommands(argv: readonly WordEx[], spec: CommandCarrierSpec): Carried[] {
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
