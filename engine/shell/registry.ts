/**
 * Declarative knowledge about programs that run other programs. The walker consults these
 * tables instead of carrying special cases: a wrapper is unwrapped by its option grammar, a
 * shell's `-c` string is parsed as a nested script, an option that carries a command line
 * (`tar --to-command`, `ssh -o ProxyCommand=`) is parsed too. grammars.ts reads each kind of
 * entry. (Elsewhere the walker knows only the builtins that take variable names or arithmetic,
 * in evaluated.ts, and programs whose output is known without running them — echo, printf, cat,
 * base64 -d — in programs.ts and words.ts.)
 *
 * Adding a program that runs another command is one line here and one row in
 * test/shell/registry.test.ts (a test fails for an entry of WRAPPERS or PROGRAMS without one):
 * - it runs the rest of its argv (`nice -n 5 CMD`, `sudo -u root CMD`): a WRAPPERS line giving
 *   its options that take a value, how many operands come before the command, …;
 * - it is a shell (`-c STRING`, a script file, or standard input): a SHELLS line;
 * - it runs code in another language (`python -c CODE`): an INTERPRETERS line;
 * - an option or operand of it carries a command line (`tar --to-command=CMD`): a
 *   COMMAND_CARRIERS line;
 * - it has a grammar of its own for what it runs (a remote shell like ssh, an action like find
 *   -exec, a container runner like docker, a runner like parallel): a PROGRAMS line with the
 *   kind of grammar and its options. A new kind is a ProgramSpec variant and a function in
 *   grammars.ts.
 */
import type { Via } from './ir.js';

/**
 * A table keyed by program (or subcommand) name, with no inherited keys: a command may be named
 * `constructor` or `valueOf`, and an object literal would find Object.prototype's under them.
 */
export function nameTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

export interface WrapperSpec {
  /** Options that take a value as the next word (or attached: `-uroot`, `--user=root`). */
  readonly valueOptions?: readonly string[];
  /** Options after which the wrapper runs no command (`sudo -l`, `command -v`). */
  readonly noCommandOptions?: readonly string[];
  /** Options whose value is a shell command line (`su -c CMD`, `flock -c CMD`). */
  readonly commandStringOptions?: readonly string[];
  /** Positional words the wrapper consumes before the command (`timeout 5`, `chroot DIR`). */
  readonly positionals?: number;
  /** Leading `NAME=value` words are environment assignments (`env`). */
  readonly assignments?: boolean;
  /** Runs the command with other privileges. */
  readonly privileged?: boolean;
  /** The wrapped words are joined and run by a shell (`sudo -s CMD`, `su -c`, `watch CMD`). */
  readonly runsShellString?: boolean;
  /** How the commands of that shell string are recorded (default `command-string`). */
  readonly shellStringVia?: Via;
  /** An option whose value is split into words and prepended to the command (`env -S`). */
  readonly splitStringOptions?: readonly string[];
  /** `busybox APPLET …`: the first positional is the program. */
  readonly firstPositionalIsProgram?: boolean;
  /** Runs a command only through its command-string option (`su user` opens a login shell). */
  readonly commandOnlyAsString?: boolean;
}

const sudoValueOptions = [
  '-u',
  '--user',
  '-g',
  '--group',
  '-h',
  '--host',
  '-p',
  '--prompt',
  '-C',
  '--close-from',
  '-D',
  '--chdir',
  '-r',
  '--role',
  '-t',
  '--type',
  '-U',
  '--other-user',
  '-T',
  '--command-timeout',
  '-R',
  '--chroot',
];

export const WRAPPERS = nameTable<WrapperSpec>({
  sudo: {
    valueOptions: sudoValueOptions,
    noCommandOptions: [
      '-l',
      '--list',
      '-v',
      '--validate',
      '-k',
      '--reset-timestamp',
      '-K',
      '--remove-timestamp',
      '-V',
      '--version',
      '-e',
      '--edit',
      '-h',
      '--help',
    ],
    assignments: true,
    privileged: true,
  },
  doas: { valueOptions: ['-u', '-C'], privileged: true, noCommandOptions: ['-L'] },
  pkexec: { valueOptions: ['--user'], privileged: true },
  run0: {
    valueOptions: [
      '-u',
      '--user',
      '-g',
      '--group',
      '-D',
      '--chdir',
      '--setenv',
      '--unit',
      '--property',
      '--description',
      '--slice',
      '--nice',
      '--background',
    ],
    privileged: true,
  },
  su: {
    valueOptions: ['-s', '--shell', '-g', '--group', '-G', '--supp-group', '-w', '--whitelist-environment'],
    commandStringOptions: ['-c', '--command', '--session-command'],
    commandOnlyAsString: true,
    privileged: true,
  },
  runuser: {
    valueOptions: ['-u', '--user', '-s', '--shell', '-g', '--group', '-G', '--supp-group', '-w'],
    commandStringOptions: ['-c', '--command', '--session-command'],
    commandOnlyAsString: true,
    privileged: true,
  },
  env: {
    valueOptions: [
      '-u',
      '--unset',
      '-C',
      '--chdir',
      '-P',
      '--default-signal',
      '--ignore-signal',
      '--block-signal',
      '-a',
      '--argv0',
    ],
    splitStringOptions: ['-S', '--split-string'],
    assignments: true,
  },
  nice: { valueOptions: ['-n', '--adjustment'] },
  ionice: { valueOptions: ['-c', '--class', '-n', '--classdata', '-p', '--pid', '-P', '--pgid', '-u', '--uid'] },
  renice: { valueOptions: ['-n', '--priority', '-g', '-p', '-u'] },
  timeout: { valueOptions: ['-s', '--signal', '-k', '--kill-after'], positionals: 1 },
  nohup: {},
  stdbuf: { valueOptions: ['-i', '--input', '-o', '--output', '-e', '--error'] },
  time: { valueOptions: ['-f', '--format', '-o', '--output'] },
  command: { noCommandOptions: ['-v', '-V'] },
  builtin: {},
  exec: { valueOptions: ['-a'] },
  busybox: { firstPositionalIsProgram: true },
  toybox: { firstPositionalIsProgram: true },
  chroot: { valueOptions: ['--userspec', '--groups'], positionals: 1, privileged: true },
  setsid: {},
  setpriv: {
    valueOptions: [
      '--reuid',
      '--regid',
      '--groups',
      '--inh-caps',
      '--ambient-caps',
      '--bounding-set',
      '--securebits',
      '--pdeathsig',
      '--selinux-label',
      '--apparmor-profile',
    ],
    privileged: true,
  },
  flock: {
    valueOptions: ['-w', '--timeout', '-E', '--conflict-exit-code'],
    commandStringOptions: ['-c', '--command'],
    positionals: 1,
  },
  strace: { valueOptions: ['-o', '-e', '-p', '-s', '-u', '-a', '-b', '-E', '-I', '-O', '-P', '-S', '-X'] },
  ltrace: { valueOptions: ['-o', '-e', '-p', '-s', '-u', '-a', '-l', '-n', '-L', '-F', '-x', '-A', '-D'] },
  script: {
    valueOptions: [
      '-E',
      '--echo',
      '-I',
      '--log-in',
      '-O',
      '--log-out',
      '-B',
      '--log-io',
      '-T',
      '--log-timing',
      '-m',
      '--logging-format',
      '-o',
      '--output-limit',
    ],
    commandStringOptions: ['-c', '--command'],
    positionals: 1,
  },
  watch: {
    valueOptions: ['-n', '--interval', '-d', '--differences', '-q', '--equexit'],
    runsShellString: true,
    shellStringVia: 'watch',
  },
  xargs: {
    valueOptions: [
      '-a',
      '--arg-file',
      '-d',
      '--delimiter',
      '-E',
      '-e',
      '--eof',
      '-I',
      '-i',
      '--replace',
      '-L',
      '-l',
      '--max-lines',
      '-n',
      '--max-args',
      '-P',
      '--max-procs',
      '-s',
      '--max-chars',
      '--process-slot-var',
    ],
  },
  chrt: { positionals: 1, valueOptions: ['-T', '-P', '-D'] },
  // `-c` is a flag: the mask operand is then a CPU list (`taskset -c 0,1 CMD`)
  taskset: { positionals: 1, noCommandOptions: ['-p', '--pid'] },
  numactl: {
    valueOptions: [
      '-i',
      '--interleave',
      '-N',
      '--cpunodebind',
      '-m',
      '--membind',
      '-C',
      '--physcpubind',
      '-p',
      '--preferred',
    ],
  },
  unshare: {
    valueOptions: ['--propagation', '--setgroups', '-S', '--setuid', '-G', '--setgid', '-R', '--root', '-w', '--wd'],
  },
  nsenter: {
    valueOptions: ['-t', '--target', '-S', '--setuid', '-G', '--setgid', '-r', '--root', '-w', '--wd'],
    privileged: true,
  },
  firejail: {},
  torsocks: {},
  torify: {},
  proxychains: { valueOptions: ['-f'] },
  proxychains4: { valueOptions: ['-f'] },
  'xvfb-run': {
    valueOptions: [
      '-n',
      '--server-num',
      '-s',
      '--server-args',
      '-f',
      '--auth-file',
      '-e',
      '--error-file',
      '-p',
      '--xauth-protocol',
    ],
  },
  caffeinate: { valueOptions: ['-t', '-w'] },
  cpulimit: { valueOptions: ['-l', '--limit', '-p', '--pid', '-e', '--exe'] },
  choom: { valueOptions: ['-n', '--adjust', '-p', '--pid'] },
  setarch: { positionals: 1 },
  linux32: {},
  linux64: {},
  rlwrap: { valueOptions: ['-f', '-H', '-l', '-P', '-S', '-a', '-b', '-e', '-q', '-s', '-t', '-w', '-z'] },
  faketime: { positionals: 1, valueOptions: ['-m', '-f'] },
  fakeroot: {},
  catchsegv: {},
  valgrind: {},
  perf: { positionals: 1, valueOptions: ['-e', '-o', '-p', '-r', '-x', '-G'] },
  multitime: { valueOptions: ['-n', '-s', '-i', '-o'] },
  softlimit: { valueOptions: ['-a', '-c', '-d', '-f', '-l', '-m', '-o', '-p', '-r', '-s', '-t'] },
  setlock: { positionals: 1 },
  pexec: {},
  'aa-exec': { valueOptions: ['-p', '--profile', '-n', '--namespace'] },
  sg: { commandStringOptions: ['-c'], commandOnlyAsString: true },
  'ssh-agent': { valueOptions: ['-a', '-E', '-P', '-t', '-O'] },
  sshpass: { valueOptions: ['-p', '-f', '-d', '-e', '-P'] },
  'start-stop-daemon': {},
  nsjail: {},
  bwrap: {},
  'systemd-run': {
    valueOptions: [
      '-u',
      '--unit',
      '-p',
      '--property',
      '-E',
      '--setenv',
      '--description',
      '--slice',
      '--uid',
      '--gid',
      '--nice',
      '-M',
      '--machine',
      '-H',
      '--host',
      '--working-directory',
      '--on-active',
      '--on-calendar',
    ],
  },
  coproc: {},
  grc: {},
});

/** Programs that run their arguments as a shell script: `-c STR`, a script file, or stdin. */
export const SHELLS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'pdksh',
  'ash',
  'yash',
  'posh',
  'rbash',
  'fish',
  'csh',
  'tcsh',
  'busybox-sh',
]);

/** Shell options that take a value, so `bash -o pipefail -c CMD` finds CMD. */
export const SHELL_VALUE_OPTIONS: ReadonlySet<string> = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

/** What a program with a grammar of its own runs; grammars.ts reads each kind. */
export type ProgramSpec =
  /** `eval ARGS…`: the arguments, joined, are a script. */
  | { readonly kind: 'eval' }
  /** `ssh [OPTIONS] HOST CMD…`: CMD is a script run on HOST. */
  | { readonly kind: 'remote-shell'; readonly valueOptions: ReadonlySet<string> }
  /** `find … -exec CMD… ;`: after an action, the words up to a terminator are a command. */
  | { readonly kind: 'exec-action'; readonly actions: readonly string[]; readonly terminators: readonly string[] }
  /** `trap ACTION SIGNAL…`: ACTION is a command line. */
  | { readonly kind: 'trap' }
  /** `docker run|exec [OPTIONS] IMAGE CMD…` (also `container exec`, `compose exec`): CMD runs in a container. */
  | {
      readonly kind: 'docker';
      readonly valueOptions: ReadonlySet<string>;
      readonly composeValueOptions: ReadonlySet<string>;
    }
  /** `kubectl exec|run|debug … -- CMD…`: CMD runs in a container. */
  | { readonly kind: 'kubectl'; readonly verbs: readonly string[] }
  /** `parallel [OPTIONS] CMD… ::: ARGS`: CMD, joined, is a script run for each argument. */
  | {
      readonly kind: 'parallel';
      readonly valueOptions: ReadonlySet<string>;
      readonly argumentSeparators: readonly string[];
    }
  /** `alias NAME=VALUE`: VALUE is a command line, and later commands may not be what they look like. */
  | { readonly kind: 'alias' }
  /** git subcommands that run commands (`rebase -x CMD`, `submodule foreach CMD`, `bisect run CMD`). */
  | {
      readonly kind: 'git';
      readonly globalValueOptions: ReadonlySet<string>;
      readonly subcommandCarriers: Readonly<Record<string, CommandCarrierSpec>>;
    };

const sshValueOptions = new Set('bcDEeFIiJLlmOopQRSWwB'.split('').map((l) => `-${l}`));

const dockerValueOptions = new Set([
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

const docker: ProgramSpec = {
  kind: 'docker',
  valueOptions: dockerValueOptions,
  /** `docker compose` options before its subcommand that take a value. */
  composeValueOptions: new Set([
    '-f',
    '--file',
    '-p',
    '--project-name',
    '--project-directory',
    '--env-file',
    '--profile',
    '--ansi',
    '--progress',
  ]),
};

const kubectl: ProgramSpec = { kind: 'kubectl', verbs: ['exec', 'run', 'debug'] };

export const PROGRAMS = nameTable<ProgramSpec>({
  eval: { kind: 'eval' },
  ssh: { kind: 'remote-shell', valueOptions: sshValueOptions },
  // `-M PORT`: the monitoring port
  autossh: { kind: 'remote-shell', valueOptions: new Set([...sshValueOptions, '-M']) },
  find: { kind: 'exec-action', actions: ['-exec', '-execdir', '-ok', '-okdir'], terminators: [';', '+'] },
  trap: { kind: 'trap' },
  docker,
  podman: docker,
  nerdctl: docker,
  kubectl,
  oc: kubectl,
  parallel: {
    kind: 'parallel',
    valueOptions: new Set([
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
    ]),
    argumentSeparators: [':::', '::::', ':::+', '::::+'],
  },
  alias: { kind: 'alias' },
  git: {
    kind: 'git',
    /** git's global options that take the next word as their value. */
    globalValueOptions: new Set([
      '-C',
      '-c',
      '--git-dir',
      '--work-tree',
      '--namespace',
      '--config-env',
      '--exec-path',
      '--super-prefix',
      '--list-cmds',
    ]),
    /** Options of git subcommands whose value is a command line for the shell. */
    subcommandCarriers: nameTable<CommandCarrierSpec>({
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
    }),
  },
});

export interface InterpreterSpec {
  readonly language: string;
  /** Options whose value is code (`python -c`, `perl -e`). */
  readonly codeOptions: readonly string[];
  /** Options that take a value that is not code (`python -W ignore`). */
  readonly valueOptions?: readonly string[];
  /** The first positional word is the program text (awk, sed, jq-like). */
  readonly programIsFirstPositional?: boolean;
}

export const INTERPRETERS = nameTable<InterpreterSpec>({
  python: { language: 'python', codeOptions: ['-c'], valueOptions: ['-W', '-X', '-m', '--check-hash-based-pycs'] },
  python2: { language: 'python', codeOptions: ['-c'], valueOptions: ['-W', '-X', '-m'] },
  python3: { language: 'python', codeOptions: ['-c'], valueOptions: ['-W', '-X', '-m'] },
  pypy: { language: 'python', codeOptions: ['-c'], valueOptions: ['-W', '-X', '-m'] },
  pypy3: { language: 'python', codeOptions: ['-c'], valueOptions: ['-W', '-X', '-m'] },
  perl: { language: 'perl', codeOptions: ['-e', '-E'], valueOptions: ['-I', '-M', '-m', '-x', '-0'] },
  ruby: { language: 'ruby', codeOptions: ['-e'], valueOptions: ['-I', '-r', '-C', '-E', '-F', '-x'] },
  irb: { language: 'ruby', codeOptions: [] },
  node: {
    language: 'javascript',
    codeOptions: ['-e', '--eval', '-p', '--print'],
    valueOptions: [
      '-r',
      '--require',
      '--import',
      '--loader',
      '--experimental-loader',
      '--input-type',
      '--max-old-space-size',
    ],
  },
  nodejs: {
    language: 'javascript',
    codeOptions: ['-e', '--eval', '-p', '--print'],
    valueOptions: ['-r', '--require', '--import'],
  },
  deno: { language: 'javascript', codeOptions: ['eval'] },
  bun: { language: 'javascript', codeOptions: ['-e', '--eval', '-p', '--print'] },
  php: { language: 'php', codeOptions: ['-r', '-R', '-B', '-E'], valueOptions: ['-d', '-c', '-z', '-t', '-S'] },
  lua: { language: 'lua', codeOptions: ['-e'], valueOptions: ['-l'] },
  luajit: { language: 'lua', codeOptions: ['-e'], valueOptions: ['-l'] },
  awk: { language: 'awk', codeOptions: [], valueOptions: ['-F', '-v', '-f'], programIsFirstPositional: true },
  gawk: {
    language: 'awk',
    codeOptions: ['--source', '-e'],
    valueOptions: ['-F', '-v', '-f', '-i', '-l'],
    programIsFirstPositional: true,
  },
  mawk: { language: 'awk', codeOptions: [], valueOptions: ['-F', '-v', '-f'], programIsFirstPositional: true },
  nawk: { language: 'awk', codeOptions: [], valueOptions: ['-F', '-v', '-f'], programIsFirstPositional: true },
  Rscript: { language: 'r', codeOptions: ['-e'] },
  R: { language: 'r', codeOptions: ['-e'] },
  tclsh: { language: 'tcl', codeOptions: [] },
  wish: { language: 'tcl', codeOptions: [] },
  expect: { language: 'tcl', codeOptions: ['-c'] },
  jrunscript: { language: 'javascript', codeOptions: ['-e'] },
  jjs: { language: 'javascript', codeOptions: [] },
  jshell: { language: 'java', codeOptions: [] },
  m4: { language: 'm4', codeOptions: [] },
  osascript: { language: 'applescript', codeOptions: ['-e'] },
  pwsh: { language: 'powershell', codeOptions: ['-c', '-Command', '-command', '-EncodedCommand', '-e', '-enc'] },
  powershell: { language: 'powershell', codeOptions: ['-c', '-Command', '-command', '-EncodedCommand', '-e', '-enc'] },
  guile: { language: 'scheme', codeOptions: ['-c'] },
  julia: { language: 'julia', codeOptions: ['-e', '-E'] },
  ghc: { language: 'haskell', codeOptions: ['-e'] },
  clisp: { language: 'lisp', codeOptions: ['-x'] },
  sbcl: { language: 'lisp', codeOptions: ['--eval'] },
  gnuplot: { language: 'gnuplot', codeOptions: ['-e'] },
  octave: { language: 'octave', codeOptions: ['--eval'] },
  'octave-cli': { language: 'octave', codeOptions: ['--eval'] },
  slsh: { language: 'slang', codeOptions: ['-e'] },
  emacs: { language: 'elisp', codeOptions: ['--eval'] },
});

/**
 * How a value carries a command: `shell` is a command line as it is; the others are another
 * language whose shell escapes are extracted (`:!cmd` in vim, `!cmd` in gdb or psql, `%(cmd)` in
 * rpm macros, `$(shell cmd)` in make, `\\write18{cmd}` in TeX).
 */
export type EscapeSyntax = 'shell' | 'vim' | 'bang' | 'rpm' | 'make' | 'tex';

export interface CommandCarrierSpec {
  /**
   * Options whose value is run. `-o Key=` matches `-o Key=VALUE` and `-oKey=VALUE`; a trailing
   * `=` or `.` means "this prefix, then the value".
   */
  readonly options?: Readonly<Record<string, EscapeSyntax>>;
  /** Positional arguments are in this language (`latex '\\write18{sh}'`, `sqlite3 db '.shell sh'`). */
  readonly positionals?: EscapeSyntax;
  /** Arguments with these prefixes carry a command (`socat - EXEC:/bin/sh`). */
  readonly prefixes?: Readonly<Record<string, EscapeSyntax>>;
}

const sh = 'shell' as const;
const vimOptions = { '-c': 'vim', '--cmd': 'vim' } as const;
const rpmOptions = { '--eval': 'rpm', '-E': 'rpm', '--pipe': sh } as const;
const texCarrier: CommandCarrierSpec = { positionals: 'tex' };

export const COMMAND_CARRIERS = nameTable<CommandCarrierSpec>({
  tar: {
    options: {
      '--to-command': sh,
      '--use-compress-program': sh,
      '-I': sh,
      '--checkpoint-action=exec=': sh,
      '--info-script': sh,
      '--new-volume-script': sh,
      '-F': sh,
      '--rsh-command': sh,
      '--rmt-command': sh,
    },
  },
  rsync: { options: { '-e': sh, '--rsh': sh, '--rsync-path': sh } },
  ssh: {
    options: { '-o ProxyCommand=': sh, '-o LocalCommand=': sh, '-o KnownHostsCommand=': sh, '-o RemoteCommand=': sh },
  },
  scp: { options: { '-S': sh, '-o ProxyCommand=': sh, '-o LocalCommand=': sh } },
  sftp: { options: { '-S': sh, '-o ProxyCommand=': sh, '-o LocalCommand=': sh } },
  sshfs: { options: { '-o ssh_command=': sh } },
  git: {
    options: {
      '-c core.pager=': sh,
      '-c core.sshCommand=': sh,
      '-c core.editor=': sh,
      '-c core.fsmonitor=': sh,
      '-c diff.external=': sh,
      '-c alias.': 'bang',
      '--upload-pack': sh,
      '--receive-pack': sh,
      '--exec': sh,
    },
  },
  hg: { options: { '--config alias.': 'bang' } },
  zip: { options: { '-TT': sh, '--unzip-command': sh } },
  tcpdump: { options: { '-z': sh } },
  openvpn: {
    options: {
      '--up': sh,
      '--down': sh,
      '--route-up': sh,
      '--route-pre-down': sh,
      '--ipchange': sh,
      '--client-connect': sh,
      '--client-disconnect': sh,
      '--learn-address': sh,
      '--tls-verify': sh,
      '--auth-user-pass-verify': sh,
    },
  },
  aria2c: {
    options: {
      '--on-download-complete': sh,
      '--on-download-error': sh,
      '--on-download-start': sh,
      '--on-download-pause': sh,
      '--on-download-stop': sh,
      '--on-bt-download-complete': sh,
    },
  },
  vim: { options: vimOptions },
  vi: { options: vimOptions },
  nvim: { options: vimOptions },
  rvim: { options: vimOptions },
  vimdiff: { options: vimOptions },
  view: { options: vimOptions },
  ex: { options: vimOptions },
  gdb: { options: { '-ex': 'bang', '--eval-command': 'bang', '-iex': 'bang', '--init-eval-command': 'bang' } },
  man: { options: { '-H': sh, '--html': sh, '-P': sh, '--pager': sh } },
  split: { options: { '--filter': sh } },
  dmsetup: { options: { '--exec': sh } },
  certbot: {
    options: {
      '--pre-hook': sh,
      '--post-hook': sh,
      '--deploy-hook': sh,
      '--manual-auth-hook': sh,
      '--manual-cleanup-hook': sh,
    },
  },
  restic: { options: { '--password-command': sh } },
  'yt-dlp': { options: { '--exec': sh, '--exec-before-download': sh } },
  'youtube-dl': { options: { '--exec': sh } },
  latexmk: { options: { '-pdflatex=': sh, '-latex=': sh, '-lualatex=': sh, '-xelatex=': sh } },
  dnsmasq: { options: { '--conf-script': sh, '--dhcp-script': sh } },
  dhclient: { options: { '-sf': sh } },
  mail: { options: { '--exec': 'bang' } },
  mysql: { options: { '-e': 'bang', '--execute': 'bang' } },
  mariadb: { options: { '-e': 'bang', '--execute': 'bang' } },
  psql: { options: { '-c': 'bang', '--command': 'bang' } },
  sqlite3: { options: { '-cmd': 'bang' }, positionals: 'bang' },
  lftp: { options: { '-c': 'bang', '-e': 'bang' } },
  dc: { options: { '-e': 'bang', '--expression': 'bang' } },
  rpm: { options: rpmOptions },
  rpmdb: { options: rpmOptions },
  rpmquery: { options: rpmOptions },
  rpmverify: { options: rpmOptions },
  make: { options: { '--eval': 'make', '-E': 'make' } },
  enscript: { options: { '-I': sh, '--filter': sh } },
  pip: { options: { '--editor': sh } },
  plymouth: { options: { '--command': sh } },
  msgfilter: { options: { '-P': sh } },
  scrot: { options: { '-e': sh, '--exec': sh } },
  tmux: { options: { '-c': sh } },
  tmate: { options: { '-c': sh } },
  fzf: { options: { '--preview': sh } },
  gcc: { options: { '-wrapper': sh } },
  perlbug: { options: { '-e': sh } },
  check_by_ssh: { options: { '-o ProxyCommand': sh, '-C': sh } },
  pidstat: { options: { '-e': sh } },
  busctl: { options: { '--address=unixexec:path=': sh } },
  wget: { options: { '--use-askpass': sh } },
  'start-stop-daemon': { options: { '-x': sh, '--exec': sh, '--startas': sh, '-a': sh } },
  ncat: { options: { '-e': sh, '--exec': sh, '-c': sh, '--sh-exec': sh } },
  nc: { options: { '-e': sh, '-c': sh } },
  netcat: { options: { '-e': sh, '-c': sh } },
  'nc.traditional': { options: { '-e': sh, '-c': sh } },
  'nc.openbsd': { options: { '-e': sh, '-c': sh } },
  socat: { prefixes: { 'exec:': sh, 'EXEC:': sh, 'system:': sh, 'SYSTEM:': sh } },
  socket: { options: { '-p': sh } },
  ansible: { options: { '-a': sh, '--args': sh } },
  latex: texCarrier,
  pdflatex: texCarrier,
  lualatex: texCarrier,
  xelatex: texCarrier,
  tex: texCarrier,
  pdftex: texCarrier,
  xetex: texCarrier,
});

/** Environment variables whose value is a command line that some program will run. */
export const COMMAND_VARIABLES: ReadonlySet<string> = new Set([
  'PAGER',
  'GIT_PAGER',
  'MANPAGER',
  'SYSTEMD_PAGER',
  'LESSOPEN',
  'LESSCLOSE',
  'EDITOR',
  'VISUAL',
  'GIT_EDITOR',
  'GIT_SEQUENCE_EDITOR',
  'GIT_SSH_COMMAND',
  'GIT_SSH',
  'GIT_EXTERNAL_DIFF',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  'SUDO_ASKPASS',
  'PROMPT_COMMAND',
  'RESTIC_PASSWORD_COMMAND',
  'CRASHPAGER',
  'BROWSER',
  'AUTOM4TE',
  'PERL5DB',
  'FCEDIT',
  'TAR_OPTIONS',
]);
