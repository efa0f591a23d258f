/**
 * One row per registry entry (engine/shell/registry.ts): each wrapper and each program grammar
 * must bring out the command it runs. A new entry without a row fails here.
 */
import { describe, expect, it } from 'vitest';
import { parseScript } from '../../engine/index.js';
import { optionUses } from '../../engine/shell/options.js';
import { PROGRAMS, WRAPPERS } from '../../engine/shell/registry.js';

/** What a program grammar runs: the first segment nested under the program's own. */
interface Nested {
  readonly program: string;
  readonly via: string;
  readonly remote?: string;
}

/** Each PROGRAMS entry: a command, and the command it runs. */
const PROGRAM_ROWS: Readonly<Record<string, readonly [string, Nested]>> = {
  eval: ["eval 'rm -rf x'", { program: 'rm', via: 'eval' }],
  ssh: ["ssh -p 22 deploy@host 'rm -rf x'", { program: 'rm', via: 'ssh', remote: 'deploy@host' }],
  autossh: ["autossh -M 0 deploy@host 'rm -rf x'", { program: 'rm', via: 'ssh', remote: 'deploy@host' }],
  find: ["find . -name '*.tmp' -exec rm -f {} \\;", { program: 'rm', via: 'find-exec' }],
  trap: ["trap 'rm -rf x' EXIT", { program: 'rm', via: 'command-string' }],
  docker: ['docker run --rm -v /:/mnt alpine rm -rf /mnt/x', { program: 'rm', via: 'container', remote: 'container' }],
  podman: ['podman exec -u root web rm x', { program: 'rm', via: 'container', remote: 'container' }],
  nerdctl: ['nerdctl run alpine rm x', { program: 'rm', via: 'container', remote: 'container' }],
  kubectl: ['kubectl exec -it pod -- rm -rf /data', { program: 'rm', via: 'container', remote: 'container' }],
  oc: ['oc exec pod -- rm x', { program: 'rm', via: 'container', remote: 'container' }],
  parallel: ["parallel 'rm {}' ::: a b", { program: 'rm', via: 'parallel' }],
  alias: ["alias ll='rm -rf x'", { program: 'rm', via: 'variable' }],
  git: ["git rebase -x 'rm -rf x' main", { program: 'rm', via: 'command-string' }],
};

/** Each WRAPPERS entry: a command that runs `rm` through it. */
const WRAPPER_ROWS: Readonly<Record<string, string>> = {
  sudo: 'sudo -u root -E rm x',
  doas: 'doas -u root rm x',
  pkexec: 'pkexec --user root rm x',
  run0: 'run0 -u root rm x',
  su: "su -c 'rm x' root",
  runuser: "runuser -u alice -c 'rm x'",
  env: 'env -i FOO=1 -u BAR rm x',
  nice: 'nice -n 5 rm x',
  ionice: 'ionice -c 3 rm x',
  renice: 'renice -n 5 rm x',
  timeout: 'timeout -s KILL 10 rm x',
  nohup: 'nohup rm x',
  stdbuf: 'stdbuf -oL rm x',
  time: 'time -p rm x',
  command: 'command rm x',
  builtin: 'builtin rm x',
  exec: 'exec -a name rm x',
  busybox: 'busybox rm x',
  toybox: 'toybox rm x',
  chroot: 'chroot /mnt rm x',
  setsid: 'setsid rm x',
  setpriv: 'setpriv --reuid 1000 rm x',
  flock: 'flock -w 5 /tmp/l rm x',
  strace: 'strace -o /dev/null rm x',
  ltrace: 'ltrace -o /dev/null rm x',
  script: "script -q -c 'rm x' /dev/null",
  watch: "watch -n 1 'rm x'",
  xargs: 'xargs -I{} rm {}',
  chrt: 'chrt 10 rm x',
  taskset: 'taskset -c 0,1 rm x',
  numactl: 'numactl -N 0 rm x',
  unshare: 'unshare --root /mnt rm x',
  nsenter: 'nsenter -t 1 rm x',
  firejail: 'firejail rm x',
  torsocks: 'torsocks rm x',
  torify: 'torify rm x',
  proxychains: 'proxychains -f p.conf rm x',
  proxychains4: 'proxychains4 -f p.conf rm x',
  'xvfb-run': 'xvfb-run -n 99 rm x',
  caffeinate: 'caffeinate -t 60 rm x',
  cpulimit: 'cpulimit -l 50 rm x',
  choom: 'choom -n 100 rm x',
  setarch: 'setarch x86_64 rm x',
  linux32: 'linux32 rm x',
  linux64: 'linux64 rm x',
  rlwrap: 'rlwrap -H h rm x',
  faketime: "faketime '2020-01-01' rm x",
  fakeroot: 'fakeroot rm x',
  catchsegv: 'catchsegv rm x',
  valgrind: 'valgrind rm x',
  perf: 'perf stat -e cycles rm x',
  multitime: 'multitime -n 3 rm x',
  softlimit: 'softlimit -m 1000 rm x',
  setlock: 'setlock /tmp/l rm x',
  pexec: 'pexec rm x',
  'aa-exec': 'aa-exec -p prof rm x',
  sg: "sg staff -c 'rm x'",
  'ssh-agent': 'ssh-agent -t 60 rm x',
  sshpass: 'sshpass -p pw rm x',
  'start-stop-daemon': 'start-stop-daemon rm x',
  nsjail: 'nsjail rm x',
  bwrap: 'bwrap rm x',
  'systemd-run': 'systemd-run --unit u rm x',
  coproc: 'coproc rm x',
  grc: 'grc rm x',
};

describe('program grammars (PROGRAMS)', () => {
  it('every entry has a row, and every row an entry', () => {
    expect(Object.keys(PROGRAM_ROWS).sort()).toEqual(Object.keys(PROGRAMS).sort());
  });

  it.each(Object.entries(PROGRAM_ROWS))('%s: %j', (name, [command, nested]) => {
    const s = parseScript(command);
    expect(s.segments[0]!.program).toBe(name);
    const inner = s.segments.find((g) => g.parent === 0);
    expect(inner && { program: inner.program, via: inner.via, remote: inner.remote }).toEqual({
      remote: null,
      ...nested,
    });
    expect(s.issues.filter((i) => i.code !== 'alias-definition')).toEqual([]);
  });
});

describe('wrappers (WRAPPERS)', () => {
  it('every entry has a row, and every row an entry', () => {
    expect(Object.keys(WRAPPER_ROWS).sort()).toEqual(Object.keys(WRAPPERS).sort());
  });

  it.each(Object.entries(WRAPPER_ROWS))('%s: %s', (name, command) => {
    const s = parseScript(command);
    const rm = s.segments.find((g) => g.program === 'rm');
    // taken off (the segment is rm, the wrapper recorded), or running a command string nested under it
    const unwrapped = rm?.wrappers.some((w) => w.name === name);
    const nested = rm?.parent === 0 && s.segments[0]!.program === name;
    expect(unwrapped || nested, JSON.stringify(s.segments.map((g) => [g.program, g.via]))).toBe(true);
    expect(s.issues).toEqual([]);
  });
});

describe('option grammars that hid the command', () => {
  it('taskset -c takes no value: its CPU list is the mask operand', () => {
    expect(parseScript('taskset -c 0 rm -rf /').segments.map((g) => g.program)).toEqual(['rm']);
    expect(parseScript('taskset 0x3 rm x').segments.map((g) => g.program)).toEqual(['rm']);
    expect(parseScript('taskset -p 0x3 1234').segments.map((g) => g.program)).toEqual(['taskset']);
  });

  it('autossh -M takes the monitoring port', () => {
    const rm = parseScript("autossh -M 20000 -f deploy@host 'rm -rf x'").segments[1]!;
    expect([rm.program, rm.remote]).toEqual(['rm', 'deploy@host']);
  });
});

describe('registry tables have no inherited entries', () => {
  // found by the property test: `valueOf` looked up PROGRAMS.valueOf, Object.prototype's
  it.each(['constructor', 'valueOf', 'toString', 'hasOwnProperty', '__proto__', 'propertyIsEnumerable'])(
    'a command named %s is a program like any other',
    (name) => {
      for (const cmd of [name, `${name} -x rm y`, `git ${name} -x rm`]) {
        const s = parseScript(cmd);
        expect(
          s.segments.map((g) => [g.program, g.wrappers.length]),
          cmd,
        ).toEqual([[cmd.split(' ')[0], 0]]);
        expect([...optionUses(s.segments[0]!.program!, s.segments[0]!.argv.slice(1))]).toEqual([]);
      }
    },
  );
});
