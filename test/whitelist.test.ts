import { describe, expect, it } from 'vitest';
import { parseScript } from '../engine/index.js';
import { compilePattern, matchArgs, PatternError } from '../engine/whitelist/pattern.js';
import { compileWhitelistRule, coverage, ruleCoversSegment } from '../engine/whitelist/coverage.js';
import { judge } from './helpers.js';

const matches = (pattern: string, cmd: string): boolean => {
  const p = compilePattern(pattern);
  const s = parseScript(cmd).segments[0]!;
  return s.program === p.program && matchArgs(p, s.argv.slice(1));
};

describe('patterns: one segment, typed placeholders, never a prefix', () => {
  it('literals, alternatives, optional groups and repetition', () => {
    expect(matches('npm run build|test', 'npm run test')).toBe(true);
    expect(matches('npm run build|test', 'npm run deploy')).toBe(false);
    expect(matches('git log [-n <int>]', 'git log -n 5')).toBe(true);
    expect(matches('git log [-n <int>]', 'git log')).toBe(true);
    expect(matches('cat <path>...', 'cat a b c')).toBe(true);
    expect(matches('cat <path>...', 'cat')).toBe(false);
  });

  it('every argument must be accounted for (no prefix matching)', () => {
    expect(matches('git status', 'git status --porcelain')).toBe(false);
    expect(matches('ls [<path>]', 'ls a b')).toBe(false);
  });

  it('flags: listed flags, bundles of listed short flags, # and * in values', () => {
    expect(matches('ls [<flags:-l|-a|-h>...]', 'ls -lah')).toBe(true);
    expect(matches('ls [<flags:-l|-a>...]', 'ls -la --color')).toBe(false);
    expect(matches('head [<flags:-n#|--lines=*>]', 'head -n20')).toBe(true);
    expect(matches('head [<flags:-n#|--lines=*>]', 'head --lines=5')).toBe(true);
    expect(matches('head [<flags:-n#>]', 'head -nx')).toBe(false);
  });

  it('typed placeholders', () => {
    expect(matches('x <int>', 'x 42')).toBe(true);
    expect(matches('x <int>', 'x 4a')).toBe(false);
    expect(matches('x <word>', 'x -rf')).toBe(false);
    expect(matches('x <branch>', 'x origin/main')).toBe(true);
    expect(matches('x <branch>', 'x --force')).toBe(false);
    expect(matches('x <url>', 'x https://example.com/a')).toBe(true);
    expect(matches('make <name>', 'make build/app.o')).toBe(true);
    for (const bad of ['SHELL=/tmp/x', '/tmp/x', '-C']) expect(matches('make <name>', `make ${bad}`), bad).toBe(false);
    expect(matches('mkdir <path:project>', 'mkdir src/a')).toBe(true);
    for (const outside of ['/etc/x', '../x', 'a/../../x', '~/x'])
      expect(matches('mkdir <path:project>', `mkdir ${outside}`)).toBe(false);
  });

  it('placeholders never match dynamic or globbing words', () => {
    expect(matches('cat <path>', 'cat $FILE')).toBe(false);
    expect(matches('cat <path>', 'cat "$(whoami)"')).toBe(false);
    expect(matches('cat <path>', 'cat *.txt')).toBe(false);
    expect(matches('echo [<any>...]', 'echo $HOME')).toBe(false);
  });

  it('rejects malformed patterns', () => {
    for (const bad of ['[ls', 'ls [', 'ls ]', 'ls <nope>', 'ls <flags:>', 'ls <flags:x>', '<path>', '... x']) {
      expect(() => compilePattern(bad), bad).toThrow(PatternError);
    }
  });

  it('gives up on pathological backtracking instead of hanging (and does not whitelist)', () => {
    const p = compilePattern('x [<any>...] [<any>...] [<any>...] [<any>...] end');
    const s = parseScript(`x ${'a '.repeat(60)}nope`).segments[0]!;
    expect(matchArgs(p, s.argv.slice(1))).toBe(false);
  });
});

describe('segment coverage', () => {
  const rule = compileWhitelistRule({
    id: 't.ls',
    owner: 'me',
    reason: 'test rule',
    pattern: 'ls [<path>]',
    examples: { match: ['ls'] },
    file: 'x',
    line: 1,
  });
  const now = Date.parse('2026-01-07T12:00:00Z');
  const covers = (cmd: string): boolean =>
    (() => {
      const sc = parseScript(cmd);
      return ruleCoversSegment(rule, sc.segments[0]!, sc, { now });
    })();

  it('refuses wrappers, privilege, assignments and redirects the rule does not name', () => {
    expect(covers('ls src')).toBe(true);
    expect(covers('sudo ls')).toBe(false);
    expect(covers('timeout 5 ls')).toBe(false);
    expect(covers('FOO=1 ls')).toBe(false);
    expect(covers('ls > out.txt')).toBe(false);
    expect(covers('/tmp/ls')).toBe(false);
  });

  it('allows harmless redirects: /dev/null, descriptor copies, reading a file', () => {
    expect(covers('ls 2>/dev/null')).toBe(true);
    expect(covers('ls 2>&1')).toBe(true);
    expect(covers('ls < list.txt')).toBe(true);
  });

  it('an expired rule never matches', () => {
    const expired = compileWhitelistRule({
      id: 't.old',
      owner: 'me',
      reason: 'expired rule',
      pattern: 'ls',
      expires: '2026-01-01',
      examples: { match: ['ls'] },
      file: 'x',
      line: 1,
    });
    expect(
      ruleCoversSegment(expired, parseScript('ls').segments[0]!, parseScript('ls'), {
        now: Date.parse('2025-12-31T12:00:00Z'),
      }),
    ).toBe(true);
    expect(ruleCoversSegment(expired, parseScript('ls').segments[0]!, parseScript('ls'), { now })).toBe(false);
  });

  it('a script is covered only when every segment is, with no stray assignment or issue', () => {
    expect(coverage(parseScript('ls && ls src'), [rule], { now }).complete).toBe(true);
    expect(coverage(parseScript('ls && pwd'), [rule], { now }).complete).toBe(false);
    expect(coverage(parseScript('X=1; ls'), [rule], { now }).complete).toBe(false);
    expect(coverage(parseScript('ls "unterminated'), [rule], { now }).complete).toBe(false);
    expect(coverage(parseScript(''), [rule], { now }).complete).toBe(false);
  });

  it('the decision names every rule used, joined with +', async () => {
    const a = await judge('git status && ls');
    expect(a.would_decide).toBe('whitelisted');
    expect(a.decided_by).toBe('whitelist_rule:git.status+fs.list');
  });

  it('a rule never covers a segment with a non-waivable hit', async () => {
    const a = await judge('cat .policy-gate/audit.db');
    expect(a.signals.map((s) => s.rule_id)).toContain('tampering.gate-files');
    expect(a.segments[0]!.covered_by).toBeNull();
    expect(a.would_decide).not.toBe('whitelisted');
  });

  it('a covered command over the ceiling is not whitelisted', async () => {
    const a = await judge('cat .env');
    expect(a.segments[0]!.covered_by).toBe('fs.read');
    expect(a.would_decide).toBe('pending');
  });
});

describe('fail closed: what the gate cannot fully read is never whitelisted', () => {
  it.each([
    ['a syntax error', 'git status "'],
    ['a missing token', '(git status'],
    ['a dynamic command name', '$GIT status'],
    ['code produced at run time', 'bash -c "$(git status)"'],
    ['input over the size limit', `echo ${'a'.repeat(70_000)}`],
    ['a NUL byte', 'git status\u0000'],
    ['invalid UTF-8 (from the CLI)', 'git status'],
    ['nesting deeper than the limit', `${'( '.repeat(250)}git status${' )'.repeat(250)}`],
    ['a function definition', 'f() { git status; }; f'],
    ['an alias definition', "alias g='git status'"],
    ['a bidi override', 'git status \u202e'],
    ['a zero-width space', 'git\u200b status'],
    ['an escape sequence', 'echo \u001b[2Jhi'],
    ['an empty command', '  '],
  ])('%s', async (name, cmd) => {
    const a = await judge(cmd, { invalidUtf8: name.startsWith('invalid UTF-8') });
    expect(a.issues.length, name).toBeGreaterThan(0);
    expect(a.would_decide).not.toBe('whitelisted');
  });
});

describe('routing', () => {
  it('denies at the deny level with the top non-context rule, whitelists only under the ceiling', async () => {
    const { route } = await import('../engine/gate/assess.js');
    const policy = await (await import('./helpers.js')).shippedPolicy();
    const sig = (rule_id: string, score: number, category = 'evasion', waivable = true) =>
      ({ rule_id, category, score, message: '', segment: null, span: [0, 1] as const, waivable }) as Parameters<
        typeof route
      >[0][number];
    const covered = { bySegment: ['x'], complete: true, rules: ['git.status'], refused: [] };
    expect(route([sig('a.b', 95)], 95, 'critical', covered, policy)).toEqual({
      decision: 'denied',
      decided_by: 'policy_rule:a.b',
    });
    expect(
      route([sig('context.burst', 25, 'context'), sig('a.b', 90)], 92, 'critical', covered, policy).decided_by,
    ).toBe('policy_rule:a.b');
    expect(route([sig('a.b', 29)], 29, 'low', covered, policy)).toEqual({
      decision: 'whitelisted',
      decided_by: 'whitelist_rule:git.status',
    });
    expect(route([sig('a.b', 30)], 30, 'medium', covered, policy).decision).toBe('pending');
    expect(route([sig('a.b', 20, 'tampering', false)], 20, 'low', covered, policy).decision).toBe('pending');
    expect(route([], 0, 'low', { ...covered, complete: false }, policy).decision).toBe('pending');
  });
});
