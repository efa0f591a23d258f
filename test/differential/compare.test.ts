/**
 * The comparison on hand-built IR: the `[[`, `((` and for-loop shapes the IR is getting, and
 * the rules for static and dynamic words, without depending on what the parser does today.
 */
import { describe, expect, it } from 'vitest';
import type { Assignment, Script, Segment, Span, Word } from '../../engine/shell/ir.js';
import { argvMatches, compareCase } from './compare.js';
import type { OracleResult } from './oracle.js';
import { parseTrace, toBytes } from './trace.js';

const NO_SPAN: Span = [0, 0];

/** `%x` is a dynamic word, `*x` a glob, anything else static. */
function w(text: string, span: Span = NO_SPAN): Word {
  if (text.startsWith('%')) return { text: text.slice(1), dynamic: true, glob: false, span };
  if (text.startsWith('*')) return { text: text.slice(1), dynamic: false, glob: true, span };
  return { text, dynamic: false, glob: false, span };
}

function seg(id: number, argv: string[], opts: { start?: number; wrappers?: string[][] } = {}): Segment {
  const words = argv.map((t) => w(t));
  return {
    id,
    argv: words,
    program: words[0] && !words[0].dynamic ? words[0].text : null,
    path: null,
    wrappers: (opts.wrappers ?? []).map((a) => ({ name: a[0]!, argv: a, span: NO_SPAN })),
    assignments: [],
    redirects: [],
    span: [opts.start ?? 100, 200],
    parent: null,
    via: 'top',
    depth: 0,
    privileged: false,
    remote: null,
    background: false,
    payload: null,
  };
}

function assignment(name: string, value: string | null, span: Span = NO_SPAN): Assignment {
  return { name, value: value === null ? null : w(value), span, segment: null, exported: false };
}

function script(segments: Segment[], assignments: Assignment[] = []): Script {
  return { source: '', segments, flows: [], redirects: [], assignments, functions: [], issues: [], hidden: [] };
}

/** A trace as bash writes it: one `\x01+ ` line per record. */
function bash(...lines: string[]): OracleResult {
  return {
    source: '',
    records: parseTrace(lines.map((l) => `\x01+ ${toBytes(l)}\n`).join('')),
    status: 0,
    stderr: '',
    timedOut: false,
    syntaxError: false,
  };
}

const classes = (source: string, guaranteed: number[], ir: Script, result: OracleResult): string[] =>
  compareCase(source, guaranteed, ir, result).map((d) => d.cls);

describe('argvMatches', () => {
  const p = (...texts: string[]) =>
    texts.map((t) => ({ text: t.replace(/^[%*]/, ''), wild: /^[%*]/.test(t), span: null }));
  it('static words match exactly, wildcards any run of words', () => {
    expect(argvMatches(p('rm', '-rf', 'x'), ['rm', '-rf', 'x'])).toBe(true);
    expect(argvMatches(p('rm', '-rf', 'x'), ['rm', '-r', 'x'])).toBe(false);
    expect(argvMatches(p('rm', '%$x', 'y'), ['rm', 'y'])).toBe(true);
    expect(argvMatches(p('rm', '%$x', 'y'), ['rm', 'a', 'b', 'y'])).toBe(true);
    expect(argvMatches(p('rm', '%$x', 'y'), ['rm', 'a', 'b'])).toBe(false);
    expect(argvMatches(p('*{a,b}'), [])).toBe(true);
    expect(argvMatches(p('sort', '-r', 'o'), ['sort', '-ro'])).toBe(false);
  });
});

describe('compareCase', () => {
  it('accepts what the IR gets right, wrappers included', () => {
    const ir = script(
      [
        seg(0, ['rm', '%$x']),
        seg(1, ['a', 'b'], {
          wrappers: [
            ['env', 'A=1'],
            ['nice', '-n', '5'],
          ],
        }),
      ],
      [assignment('A', '1')],
    );
    expect(classes('', [], ir, bash("rm 'a b' c", 'env A=1 nice -n 5 a b', 'A=1'))).toEqual([]);
  });

  it('reports a static word bash did not pass', () => {
    expect(classes('echo ~/x', [], script([seg(0, ['echo', '~/x'])]), bash('echo /root/x'))).toEqual(['argv:tilde']);
  });

  it('reports a static IR segment at a guaranteed place that bash ran differently', () => {
    const source = 'sort -r\\\no FILE';
    const ir = script([
      {
        ...seg(0, ['sort', '-r', 'o', 'FILE'], { start: 0 }),
        argv: [w('sort', [0, 4]), w('-r', [5, 7]), w('o', [9, 10]), w('FILE', [11, 15])],
      },
    ]);
    const cls = classes(source, [0], ir, bash('sort -ro FILE'));
    expect(cls).toContain('unexecuted:line-continuation');
    expect(cls).toContain('argv:line-continuation');
    // where bash may not have run it, only bash's commands are checked
    expect(classes(source, [], ir, bash())).toEqual([]);
  });

  it('checks assigned values, an append by its end', () => {
    const source = 'x=a y+=b a';
    const ir = script([], [assignment('x', 'a', [0, 3]), assignment('y', 'b', [4, 8])]);
    expect(classes(source, [], ir, bash('x=a', "y='1 b'"))).toEqual([]);
    expect(classes(source, [], ir, bash('x=b'))[0]).toMatch(/^assignment:value/);
    expect(classes(source, [], ir, bash('y=bb'))).toEqual([]);
    expect(classes(source, [], ir, bash('y=bc'))[0]).toMatch(/^assignment:value/);
    expect(classes(source, [], ir, bash('z=b'))).toEqual(['assignment:missing']);
    // a command named `a=b` prints like an assignment
    expect(classes('', [], script([seg(0, ['z=b'])]), bash('z=b'))).toEqual([]);
  });

  it('matches [[ terms against the IR [[ segment, patterns leniently', () => {
    const ir = script([seg(0, ['[[', 'a b', '==', 'b*', '&&', '-f', '%$f', '||', 'x', ']]'])]);
    expect(classes('', [], ir, bash('[[ a b == \\b\\* ]]', '[[ -f whatever ]]', '[[ -n x ]]'))).toEqual([]);
    expect(classes('', [], ir, bash('[[ a c == \\b\\* ]]'))).toEqual(['cond:term']);
    expect(classes('', [], script([]), bash('[[ -n x ]]'))).toEqual(['cond:no-[[-segment']);
    // an escaped `=` is an operand, not the operator it reads like
    const source = '[[ ( \\= == x ) ]]';
    const words: Word[] = [
      w('[[', [0, 2]),
      w('(', [3, 4]),
      w('=', [5, 7]),
      w('==', [8, 10]),
      w('x', [11, 12]),
      w(')', [13, 14]),
      w(']]', [15, 17]),
    ];
    const escaped = script([{ ...seg(0, []), argv: words, program: '[[' }]);
    expect(classes(source, [], escaped, bash('[[ = == x ]]'))).toEqual([]);
  });

  it('matches (( )) by its text apart from whitespace, any text when the IR says dynamic', () => {
    expect(classes('', [], script([seg(0, ['((', 'n > 1', '))'])]), bash('((  n>1  ))'))).toEqual([]);
    expect(classes('', [], script([seg(0, ['((', 'n > 2', '))'])]), bash('((  n>1  ))'))).toEqual(['arith:text']);
    expect(classes('', [], script([seg(0, ['((', '%$n + 1', '))'])]), bash('((  3 + 1  ))'))).toEqual([]);
    expect(classes('', [], script([]), bash('((  1  ))'))).toEqual(['arith:no-((-segment']);
  });

  it('wants an assignment for a for loop variable', () => {
    expect(classes('', [], script([], [{ ...assignment('i', null), value: w('%a') }]), bash('for i in a b'))).toEqual(
      [],
    );
    expect(classes('', [], script([]), bash('for i in a b'))).toEqual(['for:no-assignment']);
  });

  it('skips checks that are switched off', () => {
    const off = { assignments: false, cond: false, arith: false, forVar: false, unexecuted: false };
    expect(compareCase('', [], script([]), bash('[[ -n x ]]', '((  1  ))', 'for i in a', 'x=1'), off)).toEqual([]);
  });

  it('reports when parseScript throws or bash times out', () => {
    expect(compareCase('', [], new Error('boom'), bash())[0]?.kind).toBe('ir-crash');
    expect(compareCase('', [], script([]), { ...bash(), timedOut: true })[0]?.kind).toBe('timeout');
  });

  it('compares what bash ran before a syntax error, and nothing more', () => {
    const rejected = (...lines: string[]): OracleResult => ({
      ...bash(...lines),
      syntaxError: true,
      stderr: 'x: syntax error near unexpected token',
    });
    const ir = script([seg(0, ['a'], { start: 0 }), seg(1, ['b'], { start: 2 })]);
    // `b` never ran (bash stopped first): the IR saying it runs is no divergence
    expect(classes('a\nb (', [0, 2], ir, rejected('a'))).toEqual([]);
    expect(classes('a\nb (', [0, 2], ir, rejected('c'))).toEqual(['argv:missing']);
  });
});
