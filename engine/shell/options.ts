/**
 * Options that make an otherwise harmless tool run a command, load code, write a file, read a
 * file it prints, or talk to another host: `eslint -f FILE` loads a formatter module, `rg --pre
 * CMD` runs CMD on every file, `go test -exec CMD` runs the tests through CMD, `cargo test --
 * --logfile F` writes F, `du --files0-from=F` prints F's contents in its errors.
 *
 * A whitelist rule never covers a segment that uses one with a value outside the project (the
 * pattern may be looser than its author thought), and `policy lint` reports a pattern that
 * accepts one (PG109). Values inside the working tree are the project's own files, which the
 * project's tools load anyway (`mypy --config-file pyproject.toml`, `go build -o bin/app`).
 */
import type { Word } from './ir.js';
import { nameTable } from './registry.js';
import { climbsAbove } from './text.js';

export type OptionKind = 'exec' | 'code' | 'write' | 'read' | 'network';

export const OPTION_KINDS: Readonly<Record<OptionKind, string>> = {
  exec: 'runs a command',
  code: 'loads code or a configuration that can run code',
  write: 'writes a file',
  read: 'reads a file it may print',
  network: 'sends data to, or fetches from, another host',
};

export interface RiskyOption {
  readonly names: readonly string[];
  readonly kind: OptionKind;
  /** The option takes a value (next word or attached); false: the flag alone is the risk. */
  readonly value?: boolean;
  /**
   * Values that are safe whatever the kind (built-in formatter and reporter names), compared up
   * to the first `:` or `=` (`term-missing:skip-covered`, `jsonpath={…}`, `no:cacheprovider`).
   */
  readonly allow?: readonly string[];
  /** Only values like this are risky (`-d @file` reads a file, `-d '{…}'` does not). */
  readonly when?: RegExp;
  /** A value inside the working tree is never acceptable (a command). */
  readonly never?: boolean;
  /**
   * The value names a module the tool imports (`pytest -p NAME`, `eslint --plugin NAME`): a bare
   * name may be any importable module, so only a path in the project (`./reporter.js`) passes.
   */
  readonly module?: boolean;
  /**
   * Never whitelisted, but not scored by the `risky_option` rules either: the gate reads the
   * command itself (`find -exec`), another rule judges the value (`git -c KEY=…`), or most
   * values are ordinary (`make CC=clang`).
   */
  readonly quiet?: boolean;
}

interface ToolSpec {
  readonly options: readonly RiskyOption[];
  /** Options risky only under a subcommand (`git difftool -x CMD`, `git rebase --exec CMD`). */
  readonly subcommands?: Readonly<Record<string, readonly RiskyOption[]>>;
  /** Options that are risky only before the subcommand (`git -c k=v log`, not `git ls-files -c`). */
  readonly global?: readonly RiskyOption[];
  /** Global options that take a value, skipped to find the subcommand (`git -C dir log`). */
  readonly globalValues?: readonly string[];
  /** Arguments shaped like this are risky whatever their position (`make SHELL=…`). */
  readonly args?: readonly { readonly pattern: RegExp; readonly kind: OptionKind; readonly quiet?: boolean }[];
}

const exec = (...names: string[]): RiskyOption => ({ names, kind: 'exec', never: true });
/** A command option whose command the gate reads and scores as a segment of its own. */
const parsed = (...names: string[]): RiskyOption => ({ names, kind: 'exec', never: true, quiet: true });
const execFlag = (...names: string[]): RiskyOption => ({ names, kind: 'exec', value: false });
const code = (...names: string[]): RiskyOption => ({ names, kind: 'code' });
const write = (...names: string[]): RiskyOption => ({ names, kind: 'write' });
const writeFlag = (...names: string[]): RiskyOption => ({ names, kind: 'write', value: false });
const read = (...names: string[]): RiskyOption => ({ names, kind: 'read' });
const mod = (...names: string[]): RiskyOption => ({ names, kind: 'code', module: true });
const net = (...names: string[]): RiskyOption => ({ names, kind: 'network', never: true });
const netFlag = (...names: string[]): RiskyOption => ({ names, kind: 'network', value: false });

const JS_REPORTERS = [
  'default',
  'verbose',
  'dot',
  'json',
  'junit',
  'tap',
  'tap-flat',
  'basic',
  'github-actions',
  'hanging-process',
  'list',
  'line',
  'null',
  'html',
  'blob',
  'summary',
];
const PYTEST: ToolSpec = {
  options: [
    { names: ['-p'], kind: 'code', module: true, allow: ['no'] },
    mod('--pdbcls'),
    code(
      '-c',
      '--config-file',
      '--rootdir',
      '--confcutdir',
      '-o',
      '--override-ini',
      '--inifile',
      '--cov-config',
      '--import-mode',
    ),
    { names: ['--pyargs'], kind: 'code', value: false },
    write('--junitxml', '--junit-xml', '--result-log', '--basetemp', '--log-file', '--debug', '--report-log', '--html'),
    {
      names: ['--cov-report'],
      kind: 'write',
      allow: ['term', 'term-missing', 'term:skip-covered', 'term-missing:skip-covered', 'xml', 'html', 'json', 'lcov'],
    },
  ],
};

/** Tools by program name (`python -m X`, `npx X`, `uv run X` … are resolved to X first). */
export const RISKY_OPTIONS = nameTable<ToolSpec>({
  eslint: {
    options: [
      code('-c', '--config', '--rulesdir', '--resolve-plugins-relative-to', '--parser-options', '--env-info'),
      mod('--plugin', '--parser'),
      {
        names: ['-f', '--format'],
        kind: 'code',
        module: true,
        allow: [
          'stylish',
          'json',
          'json-with-metadata',
          'compact',
          'unix',
          'visualstudio',
          'checkstyle',
          'junit',
          'html',
          'tap',
          'jslint-xml',
        ],
      },
      write('-o', '--output-file', '--cache-location'),
    ],
  },
  prettier: {
    options: [
      mod('--plugin'),
      code('--config', '--plugin-search-dir', '--config-precedence'),
      write('--cache-location'),
    ],
  },
  tsc: {
    options: [
      code('-p', '--project', '--plugins'),
      write(
        '--outDir',
        '--outFile',
        '--out',
        '--declarationDir',
        '--tsBuildInfoFile',
        '--generateTrace',
        '--generateCpuProfile',
      ),
    ],
  },
  vitest: {
    options: [
      code('-c', '--config', '-r', '--root', '--dir', '--globalSetup', '--setupFiles', '--workspace', '--project'),
      mod('--environment', '--browser'),
      { names: ['--reporter'], kind: 'code', module: true, allow: JS_REPORTERS },
      write('--outputFile', '--coverage.reportsDirectory'),
    ],
  },
  jest: {
    options: [
      code(
        '-c',
        '--config',
        '--globalSetup',
        '--globalTeardown',
        '--setupFiles',
        '--setupFilesAfterEach',
        '--projects',
        '--rootDir',
        '--roots',
        '--moduleNameMapper',
        '--moduleDirectories',
        '--modulePaths',
        '--haste',
      ),
      mod(
        '--reporters',
        '--testRunner',
        '--testEnvironment',
        '--transform',
        '--resolver',
        '--preset',
        '--testResultsProcessor',
        '--watchPlugins',
        '--snapshotResolver',
        '--runner',
        '--testSequencer',
        '--dependencyExtractor',
      ),
      write('--outputFile', '--coverageDirectory', '--cacheDirectory'),
    ],
  },
  playwright: {
    options: [
      code('-c', '--config'),
      { names: ['--reporter'], kind: 'code', module: true, allow: JS_REPORTERS },
      write('--output'),
    ],
  },
  pytest: PYTEST,
  'py.test': PYTEST,
  mypy: {
    options: [
      code('--config-file', '--custom-typeshed-dir'),
      mod('--plugins'),
      exec('--python-executable'),
      write(
        '--cache-dir',
        '--junit-xml',
        '--html-report',
        '--txt-report',
        '--xml-report',
        '--linecount-report',
        '--any-exprs-report',
        '--cobertura-xml-report',
        '--lineprecision-report',
        '--xslt-html-report',
        '--xslt-txt-report',
      ),
    ],
  },
  ruff: { options: [code('--config'), write('--output-file', '-o', '--cache-dir')] },
  black: { options: [code('--config')] },
  flake8: {
    options: [
      code('--config', '--append-config', '--require-plugins', '--enable-extensions'),
      write('--output-file', '--tee'),
    ],
  },
  isort: { options: [code('--settings-path', '--settings-file', '--sp')] },
  go: {
    options: [
      exec('-exec', '-toolexec', '-vettool'),
      code('-overlay', '-modfile', '-pgo'),
      write(
        '-o',
        '-coverprofile',
        '-cpuprofile',
        '-memprofile',
        '-blockprofile',
        '-mutexprofile',
        '-trace',
        '-outputdir',
      ),
    ],
  },
  gofmt: { options: [] },
  cargo: {
    options: [
      exec('--config', '-Z'),
      code('--manifest-path'),
      write('--target-dir', '--out-dir', '--artifact-dir', '--logfile'),
    ],
  },
  make: {
    options: [exec('--eval', '-E'), code('-f', '--file', '--makefile', '-I', '--include-dir', '-C', '--directory')],
    // `make SHELL=/tmp/x`, `make CC='sh -c …'`: a variable given on the command line overrides the Makefile
    args: [
      { pattern: /^(?:SHELL|MAKESHELL|\.SHELLFLAGS|MAKEFLAGS|MFLAGS)\s*[:+?!]?=/, kind: 'exec' },
      { pattern: /^[A-Za-z_][A-Za-z0-9_.-]*\s*[:+?!]?=/, kind: 'exec', quiet: true },
    ],
  },
  npm: {
    options: [
      exec('--script-shell', '--node-options', '--shell'),
      code('--userconfig', '--globalconfig', '--prefix', '-C'),
      net('--registry'),
      write('--cache'),
    ],
  },
  npx: { options: [execFlag('-y', '--yes'), exec('-p', '--package', '-c', '--call')] },
  pnpm: { options: [exec('--shell-emulator'), code('-C', '--dir', '--config'), net('--registry')] },
  yarn: { options: [code('--cwd', '--use-yarnrc'), net('--registry')] },
  pip: {
    options: [
      net('-i', '--index-url', '--extra-index-url', '-f', '--find-links', '--trusted-host', '--proxy'),
      code('-r', '--requirement', '-c', '--constraint', '-e', '--editable'),
      write('-t', '--target', '--prefix', '--root', '--src', '--log'),
    ],
  },
  rg: {
    options: [exec('--pre'), execFlag('-z', '--search-zip'), code('--pre-glob'), read('--ignore-file', '-f', '--file')],
  },
  grep: { options: [read('-f', '--file', '--exclude-from')] },
  find: {
    options: [
      parsed('-exec', '-execdir', '-ok', '-okdir'),
      writeFlag('-delete'),
      write('-fprint', '-fprint0', '-fprintf', '-fls'),
      read('-files0-from'),
    ],
  },
  du: { options: [read('--files0-from', '-X', '--exclude-from')] },
  wc: { options: [read('--files0-from')] },
  sort: {
    options: [
      exec('--compress-program'),
      write('-o', '--output', '-T', '--temporary-directory'),
      read('--files0-from'),
    ],
  },
  tree: { options: [write('-o')] },
  jq: { options: [code('-L', '-f', '--from-file', '--library-path'), read('--rawfile', '--slurpfile')] },
  file: { options: [code('-m', '--magic-file')] },
  kubectl: {
    options: [
      code('--kubeconfig', '--template', '--cache-dir'),
      net('-s', '--server', '--token', '--as', '--as-group', '--certificate-authority', '--insecure-skip-tls-verify'),
      {
        names: ['-o', '--output'],
        kind: 'read',
        allow: ['json', 'yaml', 'wide', 'name', 'jsonpath', 'custom-columns'],
      },
    ],
  },
  docker: { options: [exec('--config'), net('-H', '--host', '--context', '-c')] },
  git: {
    // the commands of --upload-pack, --receive-pack and --exec are read as commands (registry COMMAND_CARRIERS): `parsed`
    options: [
      parsed('--upload-pack', '--receive-pack'),
      execFlag('--ext-diff', '--textconv'),
      write('--output'),
      read('--pathspec-from-file'),
    ],
    global: [
      { ...exec('-c', '--config-env'), quiet: true },
      exec('--exec-path'),
      code('--git-dir', '--work-tree', '--namespace'),
    ],
    globalValues: ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--exec-path'],
    subcommands: nameTable({
      // -x is read as a command (grammars.ts); -t names a tool configured in Git (persistence.git-hooks judges that)
      difftool: [parsed('-x', '--extcmd'), { ...exec('-t', '--tool'), quiet: true }],
      mergetool: [{ ...exec('-t', '--tool'), quiet: true }],
      rebase: [parsed('-x', '--exec'), execFlag('-i', '--interactive')],
      bisect: [execFlag('run')],
      submodule: [execFlag('foreach')],
      'filter-branch': [
        parsed(
          '--env-filter',
          '--tree-filter',
          '--index-filter',
          '--parent-filter',
          '--msg-filter',
          '--commit-filter',
          '--tag-name-filter',
        ),
      ],
      'format-patch': [write('-o', '--output-directory')],
      archive: [write('-o', '--output'), parsed('--exec'), net('--remote')],
      commit: [read('-F', '--file', '-t', '--template'), code('--cleanup')],
      clone: [code('--template'), exec('-u'), parsed('--upload-pack'), execFlag('--recurse-submodules')],
      init: [code('--template')],
      'ls-remote': [parsed('--upload-pack')],
      push: [parsed('--receive-pack', '--exec')],
      fetch: [parsed('--upload-pack')],
      pull: [parsed('--upload-pack')],
      apply: [code('--directory')],
      grep: [exec('-O', '--open-files-in-pager')],
    }),
  },
  curl: {
    options: [
      write(
        '-o',
        '--output',
        '-c',
        '--cookie-jar',
        '-D',
        '--dump-header',
        '--trace',
        '--trace-ascii',
        '--stderr',
        '--libcurl',
        '--etag-save',
        '--hsts',
        '--alt-svc',
        '--output-dir',
      ),
      writeFlag('-O', '--remote-name', '--remote-name-all', '-J', '--remote-header-name'),
      read('-K', '--config', '-b', '--cookie', '-T', '--upload-file', '--netrc-file', '-E', '--cert', '--key'),
      {
        names: ['-d', '--data', '--data-ascii', '--data-binary', '--data-urlencode', '--json', '-F', '--form'],
        kind: 'read',
        when: /^@|=@|^<|=</,
      },
      // a format or header list read from a file is printed or sent
      { names: ['-w', '--write-out', '-H', '--header'], kind: 'read', when: /^@/ },
      net(
        '--unix-socket',
        '--abstract-unix-socket',
        '-x',
        '--proxy',
        '--preproxy',
        '--resolve',
        '--connect-to',
        '--doh-url',
        '--socks4',
        '--socks4a',
        '--socks5',
        '--socks5-hostname',
      ),
      netFlag('-L', '--location', '--location-trusted', '--netrc', '-n'),
    ],
  },
  wget: {
    options: [
      { names: ['-O', '--output-document'], kind: 'write', allow: ['-'] },
      write('-o', '--output-file', '-a', '--append-output', '-P', '--directory-prefix', '--save-cookies'),
      exec('-e', '--execute'),
      read('-i', '--input-file', '--post-file', '--body-file', '--load-cookies', '--config'),
    ],
  },
  http: { options: [write('-o', '--output', '--session'), writeFlag('-d', '--download')] },
});

/** The tool a runner starts: `python -m X`, `npx X`, `uv run X`, `poetry run X`, `pnpm exec X`. */
export function effectiveTool(program: string, args: readonly Word[]): { program: string; args: readonly Word[] } {
  const after = (i: number): { program: string; args: readonly Word[] } | null => {
    const w = args[i];
    return w && !w.dynamic ? { program: w.text.slice(w.text.lastIndexOf('/') + 1), args: args.slice(i + 1) } : null;
  };
  if (/^python[0-9.]*$|^pypy3?$/.test(program)) {
    const m = args.findIndex((w) => w.text === '-m');
    if (m !== -1) return after(m + 1) ?? { program, args };
  }
  if (program === 'npx' || (program === 'npm' && (args[0]?.text === 'exec' || args[0]?.text === 'x'))) {
    const start = program === 'npm' ? 1 : 0;
    for (let i = start; i < args.length; i++) {
      const t = args[i]!.text;
      if (t === '--') return after(i + 1) ?? { program, args };
      if (!t.startsWith('-')) return after(i) ?? { program, args };
    }
  }
  if (
    (program === 'uv' || program === 'poetry' || program === 'pipenv' || program === 'hatch' || program === 'pdm') &&
    args[0]?.text === 'run'
  ) {
    const i = args.findIndex((w, k) => k > 0 && !w.text.startsWith('-'));
    if (i !== -1) return after(i) ?? { program, args };
  }
  if (
    (program === 'pnpm' || program === 'yarn' || program === 'bun') &&
    (args[0]?.text === 'exec' || args[0]?.text === 'dlx' || args[0]?.text === 'x')
  ) {
    return after(1) ?? { program, args };
  }
  return { program, args };
}

/** A value inside the working tree: relative, static, never climbing above it. */
export function projectValue(text: string): boolean {
  if (text === '' || text.startsWith('-') || text.startsWith('/') || text.startsWith('~')) return false;
  return !climbsAbove(text);
}

export interface RiskyUse {
  readonly option: string;
  readonly kind: OptionKind;
  /** The value as written (null for a flag, or a value that is missing). */
  readonly value: string | null;
}

/** One use of a registered option, risky or not, with its value word. */
export interface OptionUse extends RiskyUse {
  readonly word: Word | null;
  /** The value stays in the project (or is a safe built-in name): not risky. */
  readonly safe: boolean;
  /** How the option was registered (see RiskyOption). */
  readonly spec: RiskyOption | null;
}

/**
 * Where a word uses the option `name`, and its attached value: `--name=v`, `-nVALUE`, and a
 * short option inside a bundle (`-ro FILE`, `-xcFILE`): letters before it are taken as flags,
 * so a risky letter anywhere in a bundle counts (a letter before it might take the rest as its
 * value instead; reading it as the option errs towards caution).
 */
function optionMatch(word: string, name: string): { attached: string | null } | null {
  if (word === name) return { attached: null };
  // `--name=v`, and Go's single-dash `-toolexec=v`
  if (name.length > 2 && word.startsWith(`${name}=`)) return { attached: word.slice(name.length + 1) };
  // single-dash long options (-exec, -toolexec) never attach nor bundle
  if (name.startsWith('--') || name.length !== 2 || !/^-[A-Za-z0-9]/.test(word) || word.startsWith('--')) return null;
  if (word.startsWith(name) && word.length > 2) return { attached: word.slice(2) };
  const letter = name[1]!;
  const bundle = /^-[A-Za-z0-9]+/.exec(word)![0];
  const at = bundle.indexOf(letter, 2);
  if (at === -1) return null;
  return { attached: at === word.length - 1 ? null : word.slice(at + 1) };
}

/**
 * The first option in `args` (the words after the program) that runs a command, loads code,
 * writes or reads a file, or reaches another host, with a value outside the project — or null.
 */
export function riskyOption(program: string, args: readonly Word[]): RiskyUse | null {
  for (const use of optionUses(program, args))
    if (!use.safe) return { option: use.option, kind: use.kind, value: use.value };
  return null;
}

/**
 * Every use of a registered option, in order: the runner's own options first (`npx -y`), then
 * the tool's (`python -m pytest -c F`). Rules read the files a segment writes and reads from here.
 */
export function* optionUses(program: string, args: readonly Word[]): Generator<OptionUse> {
  // a loop, not recursion: runners may run runners (`npx python -m npx …`) as many times as the
  // command has words, and each turn leaves fewer words
  for (;;) {
    const tool = effectiveTool(program, args);
    if (tool.program === program) {
      yield* toolOptions(program, args);
      return;
    }
    yield* toolOptions(program, args.slice(0, args.length - tool.args.length - 1));
    ({ program, args } = tool);
  }
}

/**
 * A value that stays in the project: the path after `@` (`-d @file`); for an option whose values
 * are `NAME[:ARG]` (`--cov-report=xml:PATH`, `-o go-template-file=PATH`), every part.
 */
function safeValue(o: RiskyOption, value: string): boolean {
  if (o.when) value = value.replace(/^[^@<]*[@<]/, '');
  const parts = value.split(/[:=]/);
  if (o.allow?.includes(parts[0]!)) return parts.slice(1).every((part) => part === '' || projectValue(part));
  if (o.never) return false;
  if (o.kind === 'write' && value === '/dev/null') return true;
  if (o.module && !value.includes('/')) return false;
  return o.allow ? parts.every((part) => projectValue(part)) : projectValue(value);
}

function* toolOptions(program: string, words: readonly Word[]): Generator<OptionUse> {
  const spec = RISKY_OPTIONS[program];
  if (!spec) return;
  const sub = subcommandAt(words, spec.globalValues ?? []);
  const scoped =
    sub !== null && spec.subcommands?.[words[sub]!.text]
      ? [...spec.options, ...spec.subcommands[words[sub]!.text]!]
      : spec.options;
  let isValue = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const t = w.text;
    // a word shaped like a risky argument is one, unless it is the value of the option before it
    if (!isValue) {
      const a = (spec.args ?? []).find((x) => x.pattern.test(t));
      // the value is what follows `=` (`SHELL=/tmp/x`), a command
      if (a)
        yield {
          option: t,
          kind: a.kind,
          value: null,
          word: { ...w, text: t.slice(t.indexOf('=') + 1) },
          safe: false,
          spec: { names: [], kind: a.kind, never: true, quiet: a.quiet ?? false },
        };
    }
    if (isValue) {
      isValue = false;
      continue;
    }
    const options = sub === null || i < sub ? [...(spec.global ?? []), ...scoped] : scoped;
    for (const o of options) {
      for (const name of o.names) {
        const m = optionMatch(t, name);
        if (!m) continue;
        if (o.value === false) {
          if (m.attached === null) yield { option: name, kind: o.kind, value: null, word: null, safe: false, spec: o };
          continue;
        }
        if (m.attached === null) isValue = true;
        const valueWord = m.attached !== null ? { ...w, text: m.attached } : (words[i + 1] ?? null);
        const value = valueWord && !valueWord.dynamic && !valueWord.glob ? valueWord.text : null;
        if (value !== null && o.when && !o.when.test(value)) continue;
        yield {
          option: name,
          kind: o.kind,
          value: valueWord?.text ?? null,
          word: valueWord,
          safe: value !== null && safeValue(o, value),
          spec: o,
        };
      }
    }
  }
}

/** The index of the subcommand: the first operand after global options and their values. */
function subcommandAt(words: readonly Word[], globalValues: readonly string[]): number | null {
  for (let i = 0; i < words.length; i++) {
    const t = words[i]!.text;
    if (globalValues.includes(t)) {
      i++;
      continue;
    }
    if (t.startsWith('-')) continue;
    return i;
  }
  return null;
}

/** Words a pattern's sampling should try for this program: each risky option, with a bad value. */
export function riskySamples(program: string): string[] {
  const spec = RISKY_OPTIONS[program];
  if (!spec) return [];
  const out: string[] = [];
  for (const o of [...spec.options, ...(spec.global ?? []), ...Object.values(spec.subcommands ?? {}).flat()]) {
    for (const name of o.names) {
      out.push(name);
      const bad = o.when ? '@/tmp/x' : '/tmp/x';
      if (o.value !== false) out.push(name.startsWith('--') ? `${name}=${bad}` : `${name}${bad}`, bad);
    }
  }
  if (spec.args) out.push('SHELL=/tmp/x');
  return out;
}
