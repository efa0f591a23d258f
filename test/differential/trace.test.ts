/**
 * The xtrace reader against traces real bash writes. bash runs here without the sandbox: the
 * scripts only call the `:` builtin and assign variables.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBytes, parseTrace, toBytes, type TraceRecord } from './trace.js';
import { formatRegression, parseRegressions } from './regressions.js';

const PS4 = "PS4=$'\\x01+ '";

/** Runs `script` with xtrace on fd 19 and returns the trace as a byte string. */
function trace(script: string): string {
  const stdio: ('ignore' | 'pipe')[] = Array.from({ length: 20 }, () => 'ignore');
  stdio[19] = 'pipe';
  const r = spawnSync('bash', ['-c', `${PS4}\nBASH_XTRACEFD=19\nset -x\n${script}`], {
    stdio,
    env: { LC_ALL: 'C.UTF-8', PATH: '/usr/bin:/bin', HOME: '/nonexistent/home' },
  });
  const out = r.output[19];
  if (!Buffer.isBuffer(out)) throw new Error('no trace');
  return out.toString('latin1');
}

/** A byte string as `$'…'` so bash builds exactly those bytes. */
function ansi(bytes: string): string {
  return `$'${[...bytes].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}'`;
}

const byteString = fc.string({
  unit: fc.integer({ min: 1, max: 255 }).map((b) => String.fromCharCode(b)),
  maxLength: 8,
});
/** Bytes bash's quoting cares about, so the property exercises them often. */
const trickyString = fc.string({
  unit: fc.constantFrom(
    '\x01',
    '+',
    ' ',
    '\n',
    "'",
    '\\',
    '$',
    '"',
    '~',
    '#',
    'a',
    '\t',
    '\x7f',
    '\xc3',
    '\xa9',
    '\xff',
    '=',
    '{',
    '*',
    '\x1b',
  ),
  maxLength: 8,
});
const word = fc.oneof(byteString, trickyString);

describe('parseTrace', () => {
  it('reads commands, assignments, [[ ]], (( )), for and case heads', () => {
    const t = trace(`x='a b'
: plain 'two words' "" $'\\001' $'a\\nb' "it's" ~ é
[[ $x == "b*" ]]
(( 1 + 2 ))
for i in "$x" {1..2}; do :; done
case $x in (a*) : ;; esac
y=$'\\n' z=
w+=q
x=$(: inner)`);
    const records = parseTrace(t);
    const show = (r: TraceRecord): unknown => {
      switch (r.kind) {
        case 'command':
          return ['command', r.depth, r.argv.map(fromBytes)];
        case 'assignment':
          return ['assignment', r.name, r.append, fromBytes(r.value)];
        case 'cond':
        case 'arith':
          return [r.kind, r.text.trim()];
        case 'for':
          return ['for', r.name];
        default:
          return [r.kind];
      }
    };
    expect(records.map(show)).toEqual([
      ['assignment', 'x', false, 'a b'],
      ['command', 1, [':', 'plain', 'two words', '', '\x01', 'a\nb', "it's", '/nonexistent/home', 'é']],
      ['cond', 'a b == \\b\\*'],
      ['arith', '1 + 2'],
      ['for', 'i'],
      ['command', 1, [':']],
      ['for', 'i'],
      ['command', 1, [':']],
      ['for', 'i'],
      ['command', 1, [':']],
      ['case'],
      ['command', 1, [':']],
      ['assignment', 'y', false, '\n'],
      ['assignment', 'z', false, ''],
      ['assignment', 'w', true, 'q'],
      ['command', 2, [':', 'inner']],
      ['assignment', 'x', false, ''],
    ]);
  });

  it('reads back any words bash traces, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 5 }), (words) => {
        const records = parseTrace(trace(`: ${words.map(ansi).join(' ')}`));
        expect(records).toEqual([expect.objectContaining({ kind: 'command', depth: 1, argv: [':', ...words] })]);
      }),
      { numRuns: 150 },
    );
  });

  it('reads back any assigned value', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const records = parseTrace(trace(`v=${ansi(a)}; v+=${ansi(b)}`));
        expect(records).toEqual([
          expect.objectContaining({ kind: 'assignment', name: 'v', append: false, value: a }),
          expect.objectContaining({ kind: 'assignment', name: 'v', append: true, value: b }),
        ]);
      }),
      { numRuns: 100 },
    );
  });

  it('reads a case word that spans lines as one record', () => {
    // bash prints the head once before expanding the word and once after
    const records = parseTrace(trace(`case $(: a  # c\n: b) in x) : ;; esac; : after`));
    expect(records.map((r) => r.kind)).toEqual(['case', 'command', 'command', 'case', 'command']);
  });

  it('counts nesting from the repeated first character of PS4', () => {
    const records = parseTrace(trace(`eval ': a'; : "$(: b)"`));
    expect(records.map((r) => (r.kind === 'command' ? [r.depth, r.argv.join(' ')] : r.kind))).toEqual([
      [1, 'eval : a'],
      [2, ': a'],
      [2, ': b'],
      [1, ': '],
    ]);
  });

  it('keeps lines it cannot read as garbage instead of guessing', () => {
    expect(parseTrace('oops\n\x01+ : a\n')).toEqual([
      { kind: 'garbage', depth: 0, raw: 'oops' },
      expect.objectContaining({ kind: 'command', argv: [':', 'a'] }),
    ]);
  });

  it('compares as bytes: UTF-8 text in, the same bytes out', () => {
    expect(fromBytes(toBytes('é\u2028x'))).toBe('é\u2028x');
    expect(toBytes('é')).toBe('\xc3\xa9');
  });
});

describe('regressions.txt format', () => {
  it('round-trips commands of any shape', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            source: fc
              .string({ unit: fc.constantFrom('a', ' ', '\n', '=', '\t', "'", '#'), maxLength: 12 })
              .filter((s) => !/(^|\n)===/.test(s)),
            guaranteed: fc.array(fc.nat(50), { maxLength: 3 }),
          }),
          { maxLength: 4 },
        ),
        (entries) => {
          const text = `# comment\n${entries.map((e) => formatRegression(e.source, e.guaranteed, 'note')).join('')}`;
          expect(parseRegressions(text).map((r) => ({ source: r.source, guaranteed: r.guaranteed }))).toEqual(entries);
        },
      ),
    );
  });
});
