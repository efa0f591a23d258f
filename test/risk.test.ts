import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextSignals, isOffHours } from '../engine/risk/context.js';
import { combine, levelOf } from '../engine/risk/score.js';
import { judge, ruleIds } from './helpers.js';

const LEVELS = { medium: 30, high: 60, critical: 85 };

describe('combining hits', () => {
  it('is 0 with no hits and the score itself with one', () => {
    expect(combine([], 0.5)).toBe(0);
    expect(combine([70], 0.5)).toBe(70);
    expect(combine([95], 0.5)).toBe(95);
  });

  it('adds a damped share of further hits and stays within 0..100', () => {
    expect(combine([70, 70], 0.5)).toBe(80);
    expect(combine([100, 100, 100], 1)).toBe(100);
    // many weak hits do not make a critical one
    expect(combine([20, 20, 20, 20, 20, 20], 0.5)).toBeLessThan(LEVELS.critical);
  });

  it('never goes down when a hit is added (any scores, any damping)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (scores, extra, damping) => {
          expect(combine([...scores, extra], damping)).toBeGreaterThanOrEqual(combine(scores, damping));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('maps scores to levels at the thresholds', () => {
    expect([0, 29, 30, 59, 60, 84, 85, 100].map((s) => levelOf(s, LEVELS))).toEqual([
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
      'critical',
      'critical',
    ]);
  });
});

describe('context signals', () => {
  const hours = {
    timezone: 'UTC',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '08:00',
    end: '19:00',
    score: 15,
  } satisfies Parameters<typeof isOffHours>[1];

  it('off-hours: outside the working hours or days, in the configured zone', () => {
    expect(isOffHours(new Date('2026-01-07T12:00:00Z'), hours)).toBe(false); // Wednesday noon
    expect(isOffHours(new Date('2026-01-07T19:00:00Z'), hours)).toBe(true);
    expect(isOffHours(new Date('2026-01-07T07:59:00Z'), hours)).toBe(true);
    expect(isOffHours(new Date('2026-01-10T12:00:00Z'), hours)).toBe(true); // Saturday
    // 12:00 UTC is 21:00 in Tokyo
    expect(isOffHours(new Date('2026-01-07T12:00:00Z'), { ...hours, timezone: 'Asia/Tokyo' })).toBe(true);
    expect(isOffHours(new Date('2026-01-07T12:00:00Z'), { ...hours, timezone: '+09:00' })).toBe(true);
    expect(isOffHours(new Date('2026-01-07T02:00:00Z'), { ...hours, timezone: 'Asia/Tokyo' })).toBe(false);
  });

  it('burst: more than N commands within the window in one session', () => {
    const burst = { max_commands: 3, window_seconds: 60, score: 25 };
    const now = new Date('2026-01-07T12:00:00Z');
    expect(contextSignals(now, ['ls'], { recentCount: 2, programs: new Set(['ls']), total: 2 }, { burst })).toEqual([]);
    expect(
      contextSignals(now, ['ls'], { recentCount: 3, programs: new Set(['ls']), total: 3 }, { burst }).map((s) => s.id),
    ).toEqual(['context.burst']);
  });

  it('novelty: a program this session has not run before', () => {
    const now = new Date('2026-01-07T12:00:00Z');
    const novelty = { score: 5 };
    const history = { recentCount: 1, programs: new Set(['git']), total: 1 };
    expect(contextSignals(now, ['git'], history, { novelty })).toEqual([]);
    expect(contextSignals(now, ['git', 'nc'], history, { novelty })[0]).toMatchObject({
      id: 'context.novelty',
      message: expect.stringContaining('nc'),
    });
    // the first command of a session has nothing to be new against
    expect(contextSignals(now, ['nc'], { recentCount: 0, programs: new Set(), total: 0 }, { novelty })).toEqual([]);
  });

  it('time is an input: the same command replays to the same decision', async () => {
    const night = new Date('2026-01-07T03:00:00Z');
    const a = await judge('git status', { now: night });
    const b = await judge('git status', { now: night });
    expect(ruleIds(a)).toEqual(['context.off-hours']);
    expect(b.risk_score).toBe(a.risk_score);
  });
});

describe('scores explain themselves', () => {
  it('every signal names rule, category, message and the bytes it is about', async () => {
    const a = await judge('echo start && rm -rf /');
    const top = a.signals[0]!;
    expect(top).toMatchObject({ rule_id: 'destruction.rm-recursive-system', category: 'destruction', segment: 1 });
    expect(Buffer.from(a.command).subarray(top.span[0], top.span[1]).toString()).toBe('rm -rf /');
  });

  it('spans are UTF-8 byte offsets', async () => {
    const a = await judge('echo "héllo" && rm -rf /');
    const top = a.signals[0]!;
    expect(Buffer.from(a.command).subarray(top.span[0], top.span[1]).toString()).toBe('rm -rf /');
  });
});
