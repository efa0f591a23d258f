/**
 * The engine as a service: one verdict vocabulary, the request API a front end builds, the
 * waiters, the pure review judgement, and the import rules that keep the layers one-way
 * (dependency-cruiser, run for real on the source tree).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assessRequest,
  check,
  judgeDecision,
  NotifyingWaiter,
  openSqliteStore,
  pollingWaiter,
  systemClock,
  type CommandRecord,
  type DecidedBody,
  type StoredEvent,
} from '../engine/index.js';
import {
  allowsRun,
  COMMAND_STATES,
  exitCodeFor,
  LEVELS,
  levelRank,
  nextStep,
  strictestLevel,
  strictness,
} from '../engine/model/verdict.js';
import { ExitCode } from '../engine/util/exit-codes.js';
import { decided, submitted } from './audit-store-contract.js';
import { NOON, ROOT, shippedPolicy, tempDir } from './helpers.js';

describe('the verdict module', () => {
  it('only approved and whitelisted may run, and only they exit 0', () => {
    expect(COMMAND_STATES.filter(allowsRun)).toEqual(['whitelisted', 'approved']);
    expect(allowsRun(null)).toBe(false);
    expect(Object.fromEntries(COMMAND_STATES.map((s) => [s, exitCodeFor(s)]))).toEqual({
      whitelisted: ExitCode.Allowed,
      approved: ExitCode.Allowed,
      pending: ExitCode.Pending,
      denied: ExitCode.Denied,
      timed_out: ExitCode.Denied,
    });
    for (const s of COMMAND_STATES) expect(nextStep(s).startsWith('run it')).toBe(allowsRun(s));
  });

  it('levels are ordered and the strictest wins', () => {
    expect(LEVELS.map(levelRank)).toEqual([0, 1, 2, 3]);
    expect(strictestLevel()).toBe('low');
    expect(strictestLevel('medium', 'critical', 'high')).toBe('critical');
    // whatever may run is less strict than waiting, which is less strict than any refusal
    expect(strictness('approved')).toBe(strictness('whitelisted'));
    expect(strictness('whitelisted')).toBeLessThan(strictness('pending'));
    expect(strictness('pending')).toBeLessThan(strictness('timed_out'));
    expect(strictness('timed_out')).toBeLessThan(strictness('denied'));
  });

  it('no other source file decides on its own whether a state may run', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.endsWith('verdict.ts')) {
          const text = readFileSync(path, 'utf8');
          if (/'approved' *(\|\||&&)[^\n]*'whitelisted'|'whitelisted' *(\|\||&&)[^\n]*'approved'/.test(text))
            offenders.push(path.slice(ROOT.length + 1));
        }
      }
    };
    walk(join(ROOT, 'engine'));
    walk(join(ROOT, 'cli'));
    expect(offenders).toEqual([]);
  });
});

describe('the request API', () => {
  it('assessRequest reads the session history from the store, as check does', async () => {
    const policy = await shippedPolicy();
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    const earlier = (id: string, minutes: number, program: string): Parameters<typeof store.submit>[0] =>
      submitted(id, new Date(NOON.getTime() - minutes * 60_000).toISOString(), {
        session_id: 's1',
        segments: [{ ...submitted('x', '').segments[0]!, argv: [program], program }],
      });
    try {
      await store.submit(earlier('A', 2, 'ls'));
      const before = await assessRequest(
        { command: 'terraform plan', session: 's1', now: NOON },
        { policy, store, home: '/home/u' },
      );
      expect(before.signals.map((s) => s.rule_id)).toContain('context.novelty');
      // the session has run terraform before: no longer new to it
      await store.submit(earlier('B', 1, 'terraform'));
      const after = await assessRequest(
        { command: 'terraform plan', session: 's1', now: NOON },
        { policy, store, home: '/home/u' },
      );
      expect(after.signals.map((s) => s.rule_id)).not.toContain('context.novelty');
    } finally {
      await store.close();
    }
  });

  it('check records and answers a request built as a hook or a server would (JSON in)', async () => {
    const policy = await shippedPolicy();
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      const request = JSON.parse('{"command":"git status","session":"s2","agent":"hook","wait":false}');
      const { record } = await check(request, { policy, store, clock: systemClock(), home: '/home/u' });
      expect(record.decision).toBe('whitelisted');
      expect((await store.command(record.command_id))?.agent).toBe('hook');
    } finally {
      await store.close();
    }
  });
});

describe('waiting for a decision', () => {
  const decisionOf = (id: string): DecidedBody => decided(id, NOON.toISOString(), 'approved', 'alice');

  it('the notifying waiter wakes at once when told, without polling', async () => {
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      await store.submit(submitted('C1', NOON.toISOString()));
      let reads = 0;
      const counting = {
        decision: (id: string) => {
          reads++;
          return store.decision(id);
        },
      };
      const waiter = new NotifyingWaiter(counting);
      const started = Date.now();
      const waiting = waiter.next('C1', 60_000);
      await new Promise((r) => setTimeout(r, 20));
      await store.decide(decisionOf('C1'));
      waiter.notify('C1');
      const got = await waiting;
      expect(got?.decision).toBe('approved');
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(reads).toBe(2); // once before waiting, once when woken
    } finally {
      await store.close();
    }
  });

  it('the notifying waiter gives up at its time, or when aborted, with null', async () => {
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      await store.submit(submitted('C2', NOON.toISOString()));
      const waiter = new NotifyingWaiter(store);
      expect(await waiter.next('C2', 5)).toBeNull();
      const abort = new AbortController();
      const waiting = waiter.next('C2', 60_000, abort.signal);
      abort.abort();
      expect(await waiting).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('the polling waiter sees a decision another connection records', async () => {
    const path = join(tempDir(), 'audit.db');
    const store = openSqliteStore(path);
    const other = openSqliteStore(path);
    try {
      await store.submit(submitted('C3', NOON.toISOString()));
      const waiter = pollingWaiter(store, systemClock(), 5);
      const waiting = waiter.next('C3', 60_000);
      await new Promise((r) => setTimeout(r, 30));
      await other.decide(decisionOf('C3'));
      expect((await waiting)?.decided_by).toBe('alice');
    } finally {
      await other.close();
      await store.close();
    }
  });
});

describe('the review judgement', () => {
  it('is a pure function of its facts: no store, no Git, the same answer twice', async () => {
    const policy = await shippedPolicy();
    const body = submitted('J1', NOON.toISOString());
    const events: StoredEvent[] = [
      {
        seq: 1,
        type: 'SUBMITTED',
        command_id: 'J1',
        at: body.submitted_at,
        body,
        bytes: Buffer.from(''),
        leaf: 'ab'.repeat(32),
        chain: 'cd'.repeat(32),
      },
    ];
    const facts = {
      submission: { command_id: 'J1', statement: '{}', signature: null, from: { user: 'u', host: 'h' } },
      events,
      policy,
      reviewers: { reviewers: new Map(), source: 'reviewers.yaml' },
      passkeys: new Map(),
      clock: systemClock(NOON),
    };
    const first = judgeDecision(facts);
    expect(first).toMatchObject({ kind: 'refuse', code: 'malformed' });
    expect(judgeDecision(facts)).toEqual(first);
  });
});

describe('the layers', () => {
  it('import one way: no cycle, no engine → cli import, no layer importing one above it', () => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', '.bin', 'depcruise'), 'engine', 'cli', '--output-type', 'err'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('no engine source file is over 900 lines', () => {
    const long: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (name !== 'generated') walk(path);
        } else if (path.endsWith('.ts') && readFileSync(path, 'utf8').split('\n').length > 900) {
          long.push(path.slice(ROOT.length + 1));
        }
      }
    };
    walk(join(ROOT, 'engine'));
    expect(long).toEqual([]);
  });
});

describe('the Gate, as a front end uses it', () => {
  it('check, status, resume, review, assess, export, bundle, verify and report over one store', async () => {
    const { openGate, resolveLocations, shippedPolicyDir } = await import('../engine/index.js');
    const dir = tempDir();
    const loc = resolveLocations({
      store: join(tempDir(), 'audit.db'),
      policy: shippedPolicyDir(),
      cwd: dir,
      env: {},
    });
    const gate = await openGate(loc, { home: '/home/u' });
    try {
      const ok = await gate.check({ command: 'git status', session: 's', cwd: dir, wait: false });
      expect(ok.record.decision).toBe('whitelisted');
      const held = await gate.check({ command: 'npm publish', session: 's', cwd: dir, wait: false });
      expect(held.record.decision).toBe('pending');
      const id = held.record.command_id;
      expect((await gate.status(id))?.decision).toBe('pending');
      expect((await gate.resume(id, { limitMs: 50 })).decision).toBe('pending');
      expect(await gate.waitForDecision(id, 20)).toBeNull();
      expect((await gate.review.queue()).map((v) => v.record.command_id)).toEqual([id]);
      const view = await gate.review.view(id);
      expect(view?.session.map((r) => r.command_id)).toEqual([ok.record.command_id]);
      expect(view?.approvals_needed).toBe(1);
      expect(await gate.review.view('01NOSUCH')).toBeNull();
      expect(
        JSON.parse(
          await gate.review.statement({
            command_id: id,
            decision: 'deny',
            reviewer: 'alice',
            reason: 'no',
            signed_at: NOON.toISOString(),
          }),
        ),
      ).toMatchObject({ command_id: id, submitted_leaf: expect.stringMatching(/^[0-9a-f]{64}$/) });
      // an unsigned decision is refused, and the refusal recorded
      const refused = await gate.review.apply({
        command_id: id,
        statement: '{}',
        signature: null,
        from: { user: 'u', host: 'h' },
      });
      expect(refused.kind).toBe('refused');
      // assess reads the session's history (git ran in it before: not new), records nothing
      const before = (await gate.export({ format: 'jsonl' })).trim().split('\n').length;
      const a = await gate.assess({ command: 'git status', session: 's', cwd: dir, now: new Date() });
      expect(a.signals.map((s) => s.rule_id)).not.toContain('context.novelty');
      expect((await gate.export({ format: 'jsonl' })).trim().split('\n').length).toBe(before);
      expect((await gate.export({ format: 'csv' })).split('\r\n')[0]).toMatch(/^command_id,/);
      const bundle = await gate.bundle();
      expect(bundle.events.length).toBeGreaterThanOrEqual(before);
      expect(bundle.checkpoints.length).toBeGreaterThan(0);
      expect((await gate.verify()).ok).toBe(true);
      const report = await gate.report({ from: null, to: null });
      expect(report.verify?.ok).toBe(true);
      expect(report.commands).toBe(2);
    } finally {
      await gate.close();
    }
  });

  it('tells onHeld once, when a check or a resumed wait starts waiting; what it does changes nothing', async () => {
    const { openGate, resolveLocations, shippedPolicyDir } = await import('../engine/index.js');
    const dir = tempDir();
    const loc = resolveLocations({ store: join(tempDir(), 'audit.db'), policy: shippedPolicyDir(), cwd: dir, env: {} });
    const warnings: string[] = [];
    const gate = await openGate(loc, { home: '/home/u', warn: (m) => warnings.push(m) });
    const told: { record: CommandRecord; waitMs: number; stored: Promise<CommandRecord | null> }[] = [];
    const onHeld = (record: CommandRecord, waitMs: number): void => {
      // the submission is durable when the wait is announced
      told.push({ record, waitMs, stored: gate.status(record.command_id) });
    };
    try {
      // decided at once, or not waiting: nothing is held
      expect((await gate.check({ command: 'git status', cwd: dir, wait: true, onHeld })).record.decision).toBe(
        'whitelisted',
      );
      const noWait = await gate.check({ command: 'npm publish', cwd: dir, wait: false, onHeld });
      expect(told).toEqual([]);

      const held = await gate.check({ command: 'npm publish', cwd: dir, wait: true, timeoutMs: 150, onHeld });
      expect(held.record.decision).toBe('timed_out');
      expect(told).toHaveLength(1);
      expect(told[0]!.record).toMatchObject({ command_id: held.record.command_id, decision: 'pending' });
      expect(told[0]!.record.deadline).toBe(held.record.deadline);
      expect(told[0]!.waitMs).toBeGreaterThan(0);
      expect(told[0]!.waitMs).toBeLessThanOrEqual(150);
      expect((await told[0]!.stored)?.decision).toBe('pending');

      // a resumed wait is announced with how long it will last; a decided command is not
      const resumed = await gate.resume(noWait.record.command_id, { limitMs: 100, onHeld });
      expect(resumed.decision).toBe('pending');
      expect(told).toHaveLength(2);
      expect(told[1]!.record.command_id).toBe(noWait.record.command_id);
      expect(told[1]!.waitMs).toBeLessThanOrEqual(100);
      await gate.resume(held.record.command_id, { onHeld });
      expect(told).toHaveLength(2);

      // a failing display is reported, and the check goes on as if it were not there
      const failing = await gate.check({
        command: 'npm publish',
        cwd: dir,
        wait: true,
        timeoutMs: 100,
        onHeld: () => {
          throw new Error('the terminal went away');
        },
      });
      expect(failing.record.decision).toBe('timed_out');
      expect(warnings.join('\n')).toContain('the terminal went away');
    } finally {
      await gate.close();
    }
  });
});
