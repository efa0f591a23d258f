/**
 * Words decoded as bash decodes them, construct by construct. Every expectation here was taken
 * from real bash 5.2 (`set -x`); the differential test (test/differential) checks the same
 * against bash on generated commands.
 */
import { describe, expect, it } from 'vitest';
import { parseScript, type Script } from '../../engine/index.js';
import { braceExpand } from '../../engine/shell/braces.js';
import type { Atom } from '../../engine/shell/decode.js';
import { readBash } from '../../engine/shell/reader.js';

const argvs = (s: Script): string[][] => s.segments.map((g) => g.argv.map((w) => w.text));
const topArgv = (cmd: string): string[] => argvs(parseScript(cmd))[0]!;
const issues = (cmd: string): string[] => parseScript(cmd).issues.map((i) => i.code);
const unquoted = (text: string): Atom[] => [...text].map((v) => ({ v, k: 'u' as const }));
const expandText = (text: string): string[] => braceExpand(unquoted(text)).map((w) => w.map((a) => a.v).join(''));

describe('brace expansion', () => {
  it.each([
    // a quoted or escaped element is still an element: options can be smuggled this way
    ["find . {'-delete',-name,x}", ['find', '.', '-delete', '-name', 'x']],
    ['find . {"-delete",-name,x}', ['find', '.', '-delete', '-name', 'x']],
    ['find . {\\-delete,-name,x}', ['find', '.', '-delete', '-name', 'x']],
    ['sort {-r,-o}FILE x', ['sort', '-rFILE', '-oFILE', 'x']],
    ['echo {a,b}{1,2}', ['echo', 'a1', 'a2', 'b1', 'b2']],
    ['echo {a,{b,c}} {{a,b}}', ['echo', 'a', 'b', 'c', '{a}', '{b}']],
    ['echo {,a} a{,}b', ['echo', 'a', 'ab', 'ab']],
    // quoted or escaped commas and braces are text
    ["echo {'a,b'} {a\\,b} {a} {} x{}y", ['echo', '{a,b}', '{a,b}', '{a}', '{}', 'x{}y']],
    ["echo {a,\\,b} {a,'b,c'}", ['echo', 'a', ',b', 'a', 'b,c']],
    ['echo ${x:-{a,b}} "{a,b}"', ['echo', '${x:-{a,b}}', '{a,b}']],
  ])('%s', (cmd, expected) => {
    expect(topArgv(cmd)).toEqual(expected);
  });

  it.each([
    ['{1..3}', ['1', '2', '3']],
    ['{3..1}', ['3', '2', '1']],
    ['{01..3}', ['01', '02', '03']],
    ['{-01..2}', ['-01', '000', '001', '002']],
    ['{1..10..4}', ['1', '5', '9']],
    ['{1..2..-1}', ['1', '2']],
    ['{a..c}', ['a', 'b', 'c']],
    ['{z..a..5}', ['z', 'u', 'p', 'k', 'f', 'a']],
    ['x{1..3}y', ['x1y', 'x2y', 'x3y']],
    ['{1..a}', ['{1..a}']],
    ['{1.5..3}', ['{1.5..3}']],
    ['{1..3..0}', ['1', '2', '3']],
  ])('sequence %s', (text, expected) => {
    expect(expandText(text)).toEqual(expected);
  });

  it('a sequence through a backslash is not spelled out: the word is dynamic', () => {
    const words = parseScript('echo {Z..a}').segments[0]!.argv.slice(1);
    expect(words.some((w) => w.dynamic)).toBe(true);
  });

  it('an expansion too large to spell out is one dynamic globbing word, never whitelisted', () => {
    const w = parseScript('echo {1..100000}').segments[0]!.argv[1]!;
    expect(w.dynamic && w.glob).toBe(true);
  });

  it('expands the command name too', () => {
    const s = parseScript('/bin/{rm,x} -rf /');
    expect(s.segments[0]!.program).toBe('rm');
    expect(argvs(s)[0]).toEqual(['/bin/rm', '/bin/x', '-rf', '/']);
  });
});

describe('line continuations', () => {
  it.each([
    ['sort -r\\\no FILE', ['sort', '-ro', 'FILE']],
    ['r\\\nm -rf x', ['rm', '-rf', 'x']],
    ['echo "a\\\nb"', ['echo', 'ab']],
    ['echo $\\\n(echo x)', ['echo', '$(echo x)']],
    ["echo 'a\\\nb'", ['echo', 'a\\\nb']],
    ["echo $'a\\\nb'", ['echo', 'a\\\nb']],
    ['echo a\\\\\nb', ['echo', 'a\\']],
  ])('%j', (cmd, expected) => {
    expect(topArgv(cmd)).toEqual(expected);
  });

  it('a continuation does not continue a comment', () => {
    expect(argvs(parseScript('echo a # note \\\nrm -rf x'))).toEqual([
      ['echo', 'a'],
      ['rm', '-rf', 'x'],
    ]);
  });

  it('spans still point at what was written', () => {
    const s = parseScript('echo ok; r\\\nm -rf x');
    const rm = s.segments[1]!;
    expect(s.source.slice(rm.span[0], rm.span[1])).toBe('r\\\nm -rf x');
  });

  it('joins a continuation inside a bash -c payload too', () => {
    expect(argvs(parseScript("bash -c 'r\\\nm -rf x'"))[1]).toEqual(['rm', '-rf', 'x']);
  });
});

describe('here-documents', () => {
  it.each([
    ['cat <<E"O"F\nbody\nEOF\nrm -rf x', 'body\n'],
    ["cat <<E''OF\nbody\nEOF\nrm -rf x", 'body\n'],
    ["cat <<$'EOF'\nbody\nEOF\nrm -rf x", 'body\n'],
    ["cat <<$'E\\x4fF'\nbody\nEOF\nrm -rf x", 'body\n'],
    ['cat <<\\EOF\nbody\nEOF\nrm -rf x', 'body\n'],
    ['cat <<-EOF\n\tbody\n\tEOF\nrm -rf x', 'body\n'],
    ['cat <<EOF\nbody\nEO\\\nF\nrm -rf x', 'body\n'],
  ])('the body ends where bash ends it: %j', (cmd, body) => {
    const s = parseScript(cmd);
    expect(s.issues).toEqual([]);
    expect(argvs(s)).toEqual([['cat'], ['rm', '-rf', 'x']]);
    expect(s.redirects[0]!.text!.text).toBe(body);
  });

  it('a line that only looks like the terminator does not end the body', () => {
    const s = parseScript('cat <<EOF\nEOF \nrm -rf x\nEOF\necho after');
    expect(argvs(s)).toEqual([['cat'], ['echo', 'after']]);
    expect(s.redirects[0]!.text!.text).toBe('EOF \nrm -rf x\n');
  });

  it('joins continuations in an unquoted body, keeps them in a quoted one', () => {
    expect(parseScript('cat <<EOF\na\\\nb\nEOF').redirects[0]!.text!.text).toBe('ab\n');
    expect(parseScript("cat <<'EOF'\na\\\nb\nEOF").redirects[0]!.text!.text).toBe('a\\\nb\n');
  });

  it('runs the backquoted and $( ) substitutions of an unquoted body, not of a quoted one', () => {
    const s = parseScript('cat <<EOF\n`rm -rf a` $(rm -rf b) \\$x\nEOF');
    expect(
      argvs(s)
        .filter((a) => a[0] === 'rm')
        .map((a) => a[2])
        .sort(),
    ).toEqual(['a', 'b']);
    expect(s.redirects[0]!.text!.dynamic).toBe(true);
    const quoted = parseScript("cat <<'EOF'\n`rm -rf a` $(rm -rf b)\nEOF");
    expect(argvs(quoted)).toEqual([['cat']]);
    expect(quoted.redirects[0]!.text!.dynamic).toBe(false);
  });

  it('unescapes \\$, \\` and \\\\ in an unquoted body, and nothing else', () => {
    expect(parseScript('cat <<EOF\n\\$x \\` \\\\ \\a "q"\nEOF').redirects[0]!.text).toMatchObject({
      text: '$x ` \\ \\a "q"\n',
      dynamic: false,
    });
  });

  it('feeds a shell the script bash would read', () => {
    const s = parseScript('bash <<E"O"F\nrm -rf ~\nEOF');
    expect(argvs(s)).toContainEqual(['rm', '-rf', '~']);
  });

  it('reads a body to the end of the input when the terminator never comes', () => {
    const s = parseScript('cat <<EOF\nrm -rf x');
    expect(s.redirects[0]!.text!.text).toBe('rm -rf x');
  });

  it('reads a here-document for another descriptor', () => {
    const s = parseScript('a <<A 3<<-B\nx\nA\n\ty\n\tB');
    expect(s.issues).toEqual([]);
    expect(s.redirects.map((r) => [r.fd, r.op, r.text?.text])).toEqual([
      [null, '<<', 'x\n'],
      [3, '<<-', 'y\n'],
    ]);
  });

  it('reads several here-documents on one line, each body in turn', () => {
    const s = parseScript("cat <<A; cat <<-'B' | sh\n$(id)\nA\n\trm -rf x\n\tB\necho z");
    expect(s.issues).toEqual([]);
    expect(argvs(s)).toEqual([['cat'], ['id'], ['cat'], ['sh'], ['rm', '-rf', 'x'], ['echo', 'z']]);
    expect(s.redirects.map((r) => [r.op, r.text?.text])).toEqual([
      ['<<', '$(id)\n'],
      ['<<-', 'rm -rf x\n'],
    ]);
  });

  it('reads bodies tree-sitter misreads (a leading backslash or blank) from what bash read', () => {
    for (const body of ['\\$x\n', ' x\n', '\\\\\n']) {
      const s = parseScript(`cat <<'EOF'\n${body}EOF\necho after`);
      expect(s.issues).toEqual([]);
      expect(s.redirects[0]!.text!.text).toBe(body);
      expect(argvs(s)).toEqual([['cat'], ['echo', 'after']]);
    }
  });

  it('knows what "$(cat <<\'EOF\' … EOF)" prints (commit messages)', () => {
    const s = parseScript('git commit -m "$(cat <<\'EOF\'\nFix the thing\n\nBecause $reasons.\nEOF\n)"');
    expect(s.segments[0]!.argv[3]).toMatchObject({ text: 'Fix the thing\n\nBecause $reasons.', dynamic: false });
    expect(argvs(s)[1]).toEqual(['cat']);
    // an unquoted body with an expansion prints something only known at run time
    expect(parseScript('git commit -m "$(cat <<EOF\n$(id)\nEOF\n)"').segments[0]!.argv[3]!.dynamic).toBe(true);
    // unquoted, the output would be split and globbed
    expect(parseScript("echo $(cat <<'EOF'\na b\nEOF\n)").segments[0]!.argv[1]!.dynamic).toBe(true);
  });

  it('shows the delimiter as written in dynamic words', () => {
    const w = parseScript('echo "$(cat <<EOF\n$x\nEOF\n)"').segments[0]!.argv[1]!;
    expect(w.text).toContain('<<EOF');
    expect(w.text).not.toContain('PGHEREDOC');
  });
});

describe('the reader maps offsets back to the input', () => {
  it('leaves input without continuations or here-documents untouched', () => {
    expect(readBash('ls -la | wc -l')).toMatchObject({ text: 'ls -la | wc -l', map: null });
  });

  it('keeps spans right after a rewritten string holding a character outside the BMP', () => {
    const src = "a $'\\U0001F600'\n[[ $x == a ]]";
    const words = parseScript(src).segments.flatMap((g) => g.argv);
    expect(words.map((w) => src.slice(w.span[0], w.span[1]))).toEqual([
      'a',
      "$'\\U0001F600'",
      '[[',
      '$x',
      '==',
      'a',
      ']]',
    ]);
  });

  it('maps a joined word back over the removed continuation', () => {
    const r = readBash('ab\\\ncd');
    expect(r.text).toBe('abcd');
    expect(Array.from(r.map!)).toEqual([0, 1, 4, 5, 6]);
  });
});

describe('builtins that evaluate quoted text', () => {
  it.each([
    ["test -v 'a[$(rm -rf x)]'"],
    ["[ -v 'a[$(rm -rf x)]' ]"],
    ["[[ -v 'a[$(rm -rf x)]' ]]"],
    ["[[ 1 -eq 'a[$(rm -rf x)]' ]]"],
    ["printf -v 'a[$(rm -rf x)]' %s y"],
    ["read 'a[$(rm -rf x)]' <<< y"],
    ["let 'a[$(rm -rf x)]'"],
    ["declare 'a[$(rm -rf x)]=1'"],
    ["(( 'a[$(rm -rf x)]' ))"],
    ["echo $(( 'a[$(rm -rf x)]' ))"],
    ["a['$(rm -rf x)']=1"],
    ["x='$(rm -rf x)'; echo ${x@P}"],
  ])('%s runs the command inside', (cmd) => {
    const s = parseScript(cmd);
    expect(argvs(s)).toContainEqual(['rm', '-rf', 'x']);
    expect(s.issues.map((i) => i.code)).toContain('evaluated-code');
  });

  it('a literal name or number is static', () => {
    expect(parseScript('test -v HOME').segments[0]!.argv.every((w) => !w.dynamic)).toBe(true);
    expect(parseScript('[[ 3 -eq 3 ]]').segments[0]!.argv.every((w) => !w.dynamic)).toBe(true);
    expect(parseScript('[[ $n -eq x ]]').segments[0]!.argv.map((w) => w.dynamic)).toEqual([
      false,
      true,
      false,
      true,
      false,
    ]);
  });

  it('[ … ] and [[ … ]] are segments with their words; (( … )) too', () => {
    expect(topArgv('[ -f "a b" -a ! -d c ]')).toEqual(['[', '-f', 'a b', '-a', '!', '-d', 'c', ']']);
    expect(topArgv('[[ -f x && $a == y* ]]')).toEqual(['[[', '-f', 'x', '&&', '$a', '==', 'y*', ']]']);
    expect(parseScript('[[ $a == y* ]]').segments[0]!.argv[3]!.glob).toBe(false);
    expect(topArgv('(( x = 1 + 2 ))')).toEqual(['((', 'x = 1 + 2', '))']);
    expect(parseScript('(( 1 + 2 ))').segments[0]!.argv[1]!.dynamic).toBe(false);
  });

  it('a pattern ends before the blank tree-sitter reads after an escape (`a\\$ ]]`)', () => {
    expect(topArgv('[[ x == a\\$ ]]')).toEqual(['[[', 'x', '==', 'a$', ']]']);
    expect(topArgv('[[ \\  == *\\$ ]]')).toEqual(['[[', ' ', '==', '*$', ']]']);
    // a blank before more text ends the word: bash refuses the test, the IR does not read it as one word
    expect(issues('[[ x == a\\$ b ]]')).toContain('parse-error');
    expect(issues('[[ x == @(a|b) ]]')).toEqual([]);
  });

  it('${x@P} with an unknown value is held with the reason', () => {
    expect(issues('echo ${PROMPT@P}')).toContain('evaluated-code');
  });

  it('a prompt string assigned with a substitution is read as the code it runs under set -x', () => {
    expect(argvs(parseScript("PS4='$(rm -rf x)'; set -x; ls"))).toContainEqual(['rm', '-rf', 'x']);
  });
});

describe('builtins that assign variables', () => {
  const assigned = (cmd: string): string[] => parseScript(cmd).assignments.map((a) => a.name);
  it.each([
    ['for PATH in .; do git status; done', 'PATH'],
    ['select HOME in .; do git status; done', 'HOME'],
    ['read -r PATH < f; git status', 'PATH'],
    ['printf -v PATH %s .; git status', 'PATH'],
    ['mapfile -t BASH_ENV < f', 'BASH_ENV'],
    ['getopts ab IFS', 'IFS'],
    ['declare "PATH=./bin"', 'PATH'],
    ['export A=1 B', 'A'],
  ])('%s assigns %s', (cmd, name) => {
    expect(assigned(cmd)).toContain(name);
  });

  it('decodes declaration words without calling them unknown', () => {
    const s = parseScript('export A=1 B; local x; unset y');
    expect(s.issues).toEqual([]);
    expect(argvs(s)).toEqual([
      ['export', 'A=1', 'B'],
      ['local', 'x'],
      ['unset', 'y'],
    ]);
  });
});

describe('tilde expansion', () => {
  it.each([
    ['ls ~', true],
    ['ls ~/x', true],
    ['ls ~root/x', true],
    ['ls a=~/x', true],
    ['ls "~"', false],
    ['ls \\~', false],
    ['ls x:~/y', false],
    ['ls a~b', false],
  ])('%s → dynamic %s', (cmd, dynamic) => {
    expect(parseScript(cmd).segments[0]!.argv[1]!.dynamic).toBe(dynamic);
  });
});

/**
 * Inputs tree-sitter-bash misreads, taken from the differential test's findings: the reader or a
 * repair pass makes the parser see what bash sees, or the command is refused.
 */
describe('what tree-sitter misreads', () => {
  it.each([
    // a word that starts with a backslash on the next line is glued to the line before
    ['ls\n\\rm -rf x', [['ls'], ['rm', '-rf', 'x']]],
    ['a  # c\n\\rm x', [['a'], ['rm', 'x']]],
    // `!` before a compound command; `[` as a command name
    ['! { rm -rf x; }', [['rm', '-rf', 'x']]],
    ['! if a; then b; fi', [['a'], ['b']]],
    ['[ -f a ] && ls', [['[', '-f', 'a', ']'], ['ls']]],
    // `==` outside [[ ]] is a word, and the `;` after it still ends the command
    [
      'echo a == b; rm x',
      [
        ['echo', 'a', '==', 'b'],
        ['rm', 'x'],
      ],
    ],
    // a lone `-` before a redirect is still an argument
    ['a - 2>&1', [['a', '-']]],
    // assignments on a line of their own, then a compound command
    ['x=1 y=2\n{ rm -rf x; }', [['rm', '-rf', 'x']]],
    // `\0` ends an ANSI-C string
    ["a $'b\\0c' d", [['a', 'b', 'd']]],
    // adjacent backquotes are two substitutions
    ['a `b``c`', [['a', '`b``c`'], ['b'], ['c']]],
    // `\x{…}` takes every hex digit, and the low byte
    ["a $'\\x{41}B' $'\\x{4142}' $'\\x{a,b}'", [['a', 'AB', 'B', '\n,b}']]],
    // an escaped blank that follows no plain character is still part of the word
    ["a '*'\\ \nb", [['a', '* '], ['b']]],
    ['a \\  b', [['a', ' ', 'b']]],
    // `$""` next to other words; a name cannot start with a digit nor hold a `-`
    ['a $\'\'- $""', [['a', '-', '']]],
    [
      '5=a b; x=1 --o=v c',
      [
        ['5=a', 'b'],
        ['--o=v', 'c'],
      ],
    ],
    // a value runs on past what tree-sitter ends it at
    ['declare x=f]\\( y', [['declare', 'x=f](', 'y']]],
    // builtins end their options at `--`; `esac` right before a pipe
    [
      'eval -- rm x',
      [
        ['eval', '--', 'rm', 'x'],
        ['rm', 'x'],
      ],
    ],
    ['case a in a) b ;; esac|c', [['b'], ['c']]],
    // a word touching a redirect's word is part of it; a declaration's braces expand
    ['a >o\\< c', [['a', 'c']]],
    ['declare x={\\,,} y=${y%b}\\#', [['declare', 'x=,', 'x=', 'y=${y%b}#']]],
  ])('%j', (cmd, expected) => {
    const script = parseScript(cmd);
    expect(script.issues).toEqual([]);
    expect(argvs(script)).toEqual(expected);
  });

  it('\\v, \\f and \\r are word characters to bash (and hidden ones to a reviewer)', () => {
    const s = parseScript('a b\vc\r \\\f');
    expect(argvs(s)).toEqual([['a', 'b\vc\r', '\f']]);
    expect(s.issues.map((i) => i.code)).toEqual(['hidden-characters']);
  });

  it('`[` starts a test only as a word of its own: `[ab].txt` is a glob', () => {
    const [seg] = parseScript('[ab].txt x').segments;
    expect(seg!.argv[0]!.glob).toBe(true);
    expect(parseScript('[ab].txt x').issues.map((i) => i.code)).toContain('dynamic-command');
  });

  it('a redirect takes the word parts tree-sitter left out of it', () => {
    const s = parseScript('a <<< `ls`\\<; b >o\\< c');
    expect(s.redirects.map((r) => [r.op, r.target?.text ?? r.text?.text])).toEqual([
      ['<<<', '`ls`<'],
      ['>', 'o<'],
    ]);
  });

  it('a tilde after `=` expands in every word shaped like an assignment, += and a[i]= too', () => {
    const s = parseScript("x=a`a`$'' A+=~root/x'' b[1]=~/x; echo a+=~/x 5=~/x");
    expect(s.assignments.filter((a) => a.name !== 'x').map((a) => [a.name, a.value?.dynamic])).toEqual([
      ['A', true],
      ['b', true],
    ]);
    expect(
      s.segments
        .at(-1)!
        .argv.slice(1)
        .map((w) => w.dynamic),
    ).toEqual([true, false]);
  });

  it('code holding a run-time value is parsed and scored, and flagged: bash parses it only once expanded', () => {
    for (const cmd of ['eval "ls # $x"', 'bash -c "make -C $DIR"', 'eval [ab].txt', 'ssh h "ls $D"']) {
      expect(parseScript(cmd).issues.map((i) => i.code)).toContain('expanded-code');
    }
    expect(argvs(parseScript('bash -c "make -C $DIR"'))).toContainEqual(['make', '-C', '$DIR']);
    expect(parseScript('bash -c \'make -C "$DIR"\'').issues).toEqual([]);
  });

  it('an ANSI-C string that is not valid UTF-8 is bytes the IR cannot spell: dynamic', () => {
    const [a, b] = parseScript("a $'\\xff' $'\\101\\u00e9'").segments[0]!.argv.slice(1);
    expect(a!.dynamic).toBe(true);
    expect([b!.text, b!.dynamic]).toEqual(['Aé', false]);
  });

  it('an assignment-shaped word after an escaped gap is still an assignment, not a command', () => {
    const script = parseScript("x=''\\ b env");
    expect(argvs(script)).toEqual([['env']]);
    expect(script.assignments.map((a) => [a.name, a.value?.text])).toEqual([['x', ' b']]);
  });
});
