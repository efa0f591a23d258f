/** The shared pieces of the human views (cli/render/): command lines, times, colours by state. */
import { describe, expect, it } from 'vitest';
import { paintState, type Style } from '../cli/render/style.js';
import { clip, clock, clockMs, dateTime, duration, oneLine, timeLeft } from '../cli/render/text.js';

const tagged: Style = {
  bold: (s) => `<b>${s}</b>`,
  dim: (s) => `<dim>${s}</dim>`,
  red: (s) => `<red>${s}</red>`,
  green: (s) => `<green>${s}</green>`,
  yellow: (s) => `<yellow>${s}</yellow>`,
};

describe('render: text', () => {
  it('shows a command on one line, hidden characters escaped, cut with an ellipsis', () => {
    expect(oneLine('echo a\necho b')).toBe('echo a⏎echo b');
    expect(oneLine('ls \u202e txt\x1b[2J')).not.toMatch(/[\u202e\x1b]/);
    expect(oneLine('abcdefghij', 5)).toBe('abcd…');
    expect(oneLine('abcde', 5)).toBe('abcde');
    expect(clip('abcdef', 3)).toBe('ab…');
  });

  it('formats times and durations', () => {
    const iso = '2026-01-07T14:03:07.123Z';
    expect(clock(iso)).toBe('14:03:07');
    expect(clockMs(iso)).toBe('14:03:07.123');
    expect(clockMs(null)).toBe('--:--:--');
    expect(dateTime(iso)).toBe('2026-01-07 14:03:07Z');
    expect([850, 1500, 12_400].map(duration)).toEqual(['850 ms', '1.5 s', '12 s']);
    expect([null, -5, 0, 12_000, 65_000].map(timeLeft)).toEqual(['-', 'expired', 'expired', '12s', '1m05s']);
  });

  it('colours a state by whether it may run', () => {
    expect(paintState(tagged, 'approved')).toBe('<green>approved</green>');
    expect(paintState(tagged, 'whitelisted', 'ok')).toBe('<green>ok</green>');
    expect(paintState(tagged, 'pending')).toBe('<yellow>pending</yellow>');
    expect(paintState(tagged, 'denied')).toBe('<red>denied</red>');
    expect(paintState(tagged, 'timed_out')).toBe('<red>timed_out</red>');
  });
});

describe('render: why a segment is not whitelisted', () => {
  it('names a rule that matched but may not be used, and why, next to its segment', async () => {
    const { assess, whyNotWhitelisted } = await import('../engine/index.js');
    const { compileWhitelistRule } = await import('../engine/whitelist/coverage.js');
    const { renderAssessment } = await import('../cli/render/record.js');
    const { shippedPolicy, NOON } = await import('./helpers.js');
    const policy = await shippedPolicy();
    const loose = compileWhitelistRule({
      id: 'team.eslint',
      owner: 't',
      reason: 'r',
      pattern: 'npx eslint [<any>...]',
      file: 'whitelist/team.yaml',
      line: 1,
    });
    const p = { ...policy, whitelist: [...policy.whitelist, loose] };
    const a = assess('npx eslint -f /tmp/f.js src; ls', p, { now: NOON, history: null });
    const text = renderAssessment(tagged, a, whyNotWhitelisted(a, p));
    expect(text).toContain(
      '0. npx eslint -f /tmp/f.js src<yellow> ✗ team.eslint matches but may not be used: -f loads code',
    );
    // a segment a rule covers, and one no rule matches, read as before
    expect(text).toMatch(/1\. ls<green> ✓ /);
  });
});

describe('render: a held command, as the person waiting sees it', () => {
  it('the strongest signals first, the first command not whitelisted and why, where to review; escaped', async () => {
    const { check, openSqliteStore, systemClock } = await import('../engine/index.js');
    const { countdownLine, renderHeld } = await import('../cli/render/record.js');
    const { shippedPolicy, tempDir } = await import('./helpers.js');
    const { join } = await import('node:path');
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      const command = 'rm -rf build; git push --force; npm publish; echo \x1b[2Jdone';
      const { record } = await check(
        { command, wait: false },
        { policy: await shippedPolicy(), store, clock: systemClock(), home: '/home/u' },
      );
      expect(record.decision).toBe('pending');
      const text = renderHeld(tagged, record);
      const lines = text.split('\n');
      expect(lines[0]).toBe(
        `<b><yellow>HELD</yellow></b> for review  risk ${record.risk_score}/100 ${record.risk_level}  ${record.command_id}`,
      );
      expect(text).not.toContain('\x1b');
      expect(lines[1]).toContain('\\x1b[2Jdone');
      const scores = [...text.matchAll(/\(([\w.-]+), (\d+)\)<\/dim>/g)].map((m) => Number(m[2]));
      expect(scores).toHaveLength(Math.min(3, record.signals.length));
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(scores[0]).toBe(Math.max(...record.signals.map((s) => s.score)));
      expect(text).toContain('not whitelisted: the command could not be fully understood (hidden-characters)');
      expect(text).toContain(`review it: <b>policy-gate review show ${record.command_id}</b>`);
      expect(countdownLine(tagged, 61_000)).toContain('<yellow>1m01s</yellow> left');
      expect(countdownLine(tagged, 0)).toContain('time is up');
    } finally {
      await store.close();
    }
  });
});
