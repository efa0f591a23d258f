/**
 * The interactive queue's screen and keys, without a terminal (the real-terminal run is in
 * review-e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { keys, onKey, renderScreen } from '../cli/review-tui.js';
import type { ReviewView } from '../cli/render/record.js';
import type { Style } from '../cli/render/style.js';
import type { CommandRecord } from '../engine/index.js';

const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };

function view(id: string, command: string, extra: Partial<CommandRecord> = {}, time_left_ms = 42_000): ReviewView {
  const record = {
    command_id: id,
    submitted_at: '2026-11-26T12:00:00.000Z',
    command,
    session_id: 's1',
    agent: 'codex',
    cwd: '/work/app',
    intent: 'clean up',
    decision: 'pending',
    decided_by: null,
    decided_at: null,
    review_latency_ms: null,
    risk_score: 72,
    risk_level: 'high',
    signals: [
      {
        rule_id: 'destruction.rm-recursive',
        category: 'destruction',
        score: 70,
        message: 'Recursive delete',
        span: [0, 6],
        segment: 0,
        waivable: true,
      },
    ],
    segments: [
      {
        argv: ['rm', '-rf', 'build'],
        program: 'rm',
        via: 'top',
        dynamic: false,
        covered_by: null,
        span: [0, command.length],
      },
    ],
    issues: [],
    policy_revision: 'sha256:abc',
    reason: null,
    whitelist_provenance: [],
    whitelist_refused: [],
    deadline: '2026-11-26T12:01:00.000Z',
    signatures: [],
    execution: null,
    ...extra,
  } as unknown as CommandRecord;
  return { record, session: [], approvals: [], approvals_needed: 1, time_left_ms };
}

function state(views: ReviewView[]) {
  return { views, selected: views[0]?.record.command_id ?? null, mode: { kind: 'browse' as const }, message: '' };
}

describe('the review screen', () => {
  it('shows the queue, and the selected command with its hit underlined, segments, session and time left', () => {
    const s = state([
      view('01A', 'rm -rf build'),
      view('01B', 'npm publish', { risk_score: 40, risk_level: 'medium' }),
    ]);
    const screen = renderScreen(plain, s, 'alice', 120, 60);
    expect(screen).toMatch(/policy-gate review — alice — 2 pending/);
    expect(screen).toMatch(/^> 01A +72 high +42s +codex +rm -rf build/m);
    expect(screen).toMatch(/^ {2}01B +40 medium/m);
    expect(screen).toContain('destruction.rm-recursive  70  Recursive delete');
    expect(screen).toMatch(/rm -rf build\r\n +\^{6}/);
    expect(screen).toContain('0. rm -rf build ✗ not whitelisted');
    expect(screen).toMatch(/session s1 {2}agent codex {2}cwd \/work\/app/);
    expect(screen).toContain('intent clean up');
    expect(screen).toMatch(/PENDING {2}risk 72\/100 high {2}· 42s left/);
  });

  it('shows control characters escaped, never raw', () => {
    const screen = renderScreen(plain, state([view('01A', 'echo ok\x1b[2K\rrm -rf ~')]), 'alice', 120, 60);
    expect(screen).not.toContain('\x1b[2K');
    expect(screen).toContain('\\x1b[2K\\x0drm -rf ~');
  });

  it('clips to the terminal height and says so', () => {
    const screen = renderScreen(plain, state([view('01A', 'rm -rf build')]), 'alice', 120, 8);
    expect(screen.split('\r\n').length).toBeLessThanOrEqual(8);
    expect(screen).toContain('enlarge the terminal');
  });
});

describe('the review keys', () => {
  it('moves with j/k and arrows, asks a reason, submits on enter, cancels on escape', () => {
    const s = state([view('01A', 'a'), view('01B', 'b'), view('01C', 'c')]);
    expect(onKey(s, 'j')).toBeNull();
    expect(onKey(s, '\x1b[B')).toBeNull();
    expect(s.selected).toBe('01C');
    onKey(s, 'j');
    expect(s.selected).toBe('01C');
    onKey(s, '\x1b[A');
    expect(s.selected).toBe('01B');
    onKey(s, 'a');
    expect(s.mode).toEqual({ kind: 'reason', action: 'approve', text: '' });
    for (const k of keys('ok!\x7f')) onKey(s, k);
    expect(onKey(s, '\r')).toEqual({ submit: 'approve', reason: 'ok' });
    onKey(s, 'd');
    expect(onKey(s, '\r')).toBeNull();
    expect(s.message).toBe('a deny needs a reason');
    onKey(s, '\x1b');
    expect(s.mode).toEqual({ kind: 'browse' });
    expect(onKey(s, 'q')).toBe('quit');
  });

  it('splits input into keys: escape sequences whole, text by character', () => {
    expect(keys('\x1b[Ajé\r')).toEqual(['\x1b[A', 'j', 'é', '\r']);
  });
});
