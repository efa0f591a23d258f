/**
 * The contract every AuditStore implementation must pass. Run it against each implementation
 * (describeAuditStoreContract in its own test file), so the seam stays honest.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditStore, DecidedBody, SubmittedBody } from '../engine/index.js';

export function submitted(id: string, at: string, extra: Partial<SubmittedBody> = {}): SubmittedBody {
  return {
    type: 'SUBMITTED',
    command_id: id,
    submitted_at: at,
    command: 'ls -la',
    session_id: 's1',
    agent: 'test',
    cwd: '/tmp',
    intent: null,
    risk_score: 0,
    risk_level: 'low',
    signals: [],
    segments: [
      {
        argv: ['ls', '-la'],
        program: 'ls',
        dynamic: false,
        covered_by: null,
        via: 'top',
        parent: null,
        wrappers: [],
        privileged: false,
        span: [0, 6],
      },
    ],
    issues: [],
    would_decide: 'pending',
    whitelist_refused: [],
    policy_revision: 'sha256:test',
    policy_content: 'sha256:test',
    gate_version: '0.0.0',
    ...extra,
  };
}

export function decided(
  id: string,
  at: string,
  decision: DecidedBody['decision'] = 'denied',
  by = 'policy_rule:x.y',
): DecidedBody {
  return {
    type: 'DECIDED',
    command_id: id,
    decision,
    decided_by: by,
    decided_at: at,
    review_latency_ms: 5,
    policy_revision: 'sha256:test',
    submitted_leaf: '00',
    reason: null,
    whitelist_provenance: [],
  };
}

const sha = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function describeAuditStoreContract(name: string, open: () => AuditStore): void {
  describe(`AuditStore contract: ${name}`, () => {
    it('a submission is a pending command until decided, with every field kept', () => {
      const store = open();
      store.submit(submitted('A', '2026-01-07T12:00:00.000Z'));
      expect(store.command('A')).toMatchObject({
        command_id: 'A',
        decision: 'pending',
        decided_by: null,
        command: 'ls -la',
        session_id: 's1',
        agent: 'test',
      });
      expect(store.decide(decided('A', '2026-01-07T12:00:01.000Z'))).not.toBeNull();
      expect(store.command('A')).toMatchObject({
        decision: 'denied',
        decided_by: 'policy_rule:x.y',
        decided_at: '2026-01-07T12:00:01.000Z',
        review_latency_ms: 5,
      });
      expect(store.command('missing')).toBeNull();
      store.close();
    });

    it('a command is decided once: a second decision is refused, the first kept', () => {
      const store = open();
      store.submit(submitted('B', '2026-01-07T12:00:00.000Z'));
      expect(store.decide(decided('B', '2026-01-07T12:00:01.000Z', 'timed_out', 'timeout'))).not.toBeNull();
      expect(store.decide(decided('B', '2026-01-07T12:00:02.000Z', 'approved', 'alice'))).toBeNull();
      expect(store.decision('B')).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
      store.close();
    });

    it('lists commands oldest first, filtered by session, decision, time and count', () => {
      const store = open();
      store.submit(submitted('C1', '2026-01-07T10:00:00.000Z', { session_id: 'x' }));
      store.submit(submitted('C2', '2026-01-07T11:00:00.000Z', { session_id: 'y' }));
      store.submit(submitted('C3', '2026-01-07T12:00:00.000Z', { session_id: 'x' }));
      store.decide(decided('C3', '2026-01-07T12:00:01.000Z', 'whitelisted', 'whitelist_rule:fs.list'));
      expect(store.commands({ session: 'x' }).map((c) => c.command_id)).toEqual(['C1', 'C3']);
      expect(store.commands({ decision: 'pending' }).map((c) => c.command_id)).toEqual(['C1', 'C2']);
      expect(store.commands({ decision: 'whitelisted' }).map((c) => c.command_id)).toEqual(['C3']);
      expect(store.commands({ since: '2026-01-07T10:30:00.000Z' }).map((c) => c.command_id)).toEqual(['C2', 'C3']);
      expect(store.commands({ limit: 2 }).map((c) => c.command_id)).toEqual(['C2', 'C3']);
      store.close();
    });

    it('session history counts the window before now and the programs seen', () => {
      const store = open();
      store.submit(submitted('H1', '2026-01-07T12:00:00.000Z', { session_id: 'h' }));
      store.submit(
        submitted('H2', '2026-01-07T12:00:50.000Z', {
          session_id: 'h',
          segments: [
            {
              argv: ['git'],
              program: 'git',
              dynamic: false,
              covered_by: null,
              via: 'top',
              parent: null,
              wrappers: [],
              privileged: false,
              span: [0, 3],
            },
          ],
        }),
      );
      store.submit(submitted('H3', '2026-01-07T12:05:00.000Z', { session_id: 'h' }));
      const h = store.sessionHistory('h', new Date('2026-01-07T12:01:00.000Z'), 30);
      expect(h.recentCount).toBe(1);
      expect(h.total).toBe(2);
      expect([...h.programs].sort()).toEqual(['git', 'ls']);
      expect(store.sessionHistory('nobody', new Date(), 60)).toMatchObject({ recentCount: 0, total: 0 });
      store.close();
    });

    it('events are canonical bytes, hash-chained, with contiguous sequence numbers', () => {
      const store = open();
      store.submit(submitted('E1', '2026-01-07T12:00:00.000Z'));
      store.decide(decided('E1', '2026-01-07T12:00:00.500Z'));
      store.submit(submitted('E2', '2026-01-07T12:00:01.000Z'));
      const events = store.events();
      expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
      let previous: Buffer = Buffer.alloc(32);
      for (const e of events) {
        const leaf = sha(Buffer.from([0]), e.bytes);
        expect(e.leaf).toBe(leaf.toString('hex'));
        const chain = sha(Buffer.from('policy-gate/chain/v1'), previous, leaf);
        expect(e.chain).toBe(chain.toString('hex'));
        previous = chain;
        // canonical: sorted keys, no whitespace, and it parses back to the body
        const text = e.bytes.toString('utf8');
        expect(JSON.parse(text)).toEqual(e.body);
        const keys = Object.keys(JSON.parse(text));
        expect(keys).toEqual([...keys].sort());
        expect(text).not.toMatch(/\n|": /);
      }
      store.close();
    });

    it('records the other events in order; one EXEC_START and one EXEC_END per command', () => {
      const store = open();
      store.submit(submitted('X1', '2026-01-07T12:00:00.000Z'));
      store.decide(decided('X1', '2026-01-07T12:00:01.000Z', 'approved', 'alice'));
      const start = {
        type: 'EXEC_START',
        command_id: 'X1',
        started_at: '2026-01-07T12:00:02.000Z',
        decided_leaf: '00',
        argv: ['bash', '-c', 'ls'],
        cwd: '/tmp',
        env_removed: [],
        recording: 'r.cast',
      } as const;
      expect(store.record(start)).not.toBeNull();
      expect(store.record({ ...start, started_at: '2026-01-07T12:00:03.000Z' })).toBeNull();
      const end = {
        type: 'EXEC_END',
        command_id: 'X1',
        started_at: start.started_at,
        ended_at: '2026-01-07T12:00:04.000Z',
        duration_ms: 2000,
        exit_code: 0,
        signal: null,
        recording: null,
        recording_error: null,
      } as const;
      expect(store.record(end)).not.toBeNull();
      expect(store.record(end)).toBeNull();
      expect(store.commandEvents('X1').map((e) => `${e.type}@${e.at}`)).toEqual([
        'SUBMITTED@2026-01-07T12:00:00.000Z',
        'DECIDED@2026-01-07T12:00:01.000Z',
        'EXEC_START@2026-01-07T12:00:02.000Z',
        'EXEC_END@2026-01-07T12:00:04.000Z',
      ]);
      expect(store.command('X1')!.execution).toMatchObject({
        started_at: start.started_at,
        ended_at: end.ended_at,
        exit_code: 0,
      });
      expect(store.commands()[0]!.execution).toMatchObject({ exit_code: 0 });
      store.close();
    });

    it('atomically: everything appended in it commits together, or nothing does', () => {
      const store = open();
      store.submit(submitted('T1', '2026-01-07T12:00:00.000Z'));
      expect(() =>
        store.atomically(() => {
          store.record({
            type: 'ESCALATED',
            command_id: 'T1',
            at: '2026-01-07T12:00:30.000Z',
            after_seconds: 30,
            notifier: ['true'],
            error: null,
          });
          throw new Error('stop');
        }),
      ).toThrow('stop');
      expect(store.commandEvents('T1').map((e) => e.type)).toEqual(['SUBMITTED']);
      store.atomically(() => {
        store.record({
          type: 'ESCALATED',
          command_id: 'T1',
          at: '2026-01-07T12:00:30.000Z',
          after_seconds: 30,
          notifier: ['true'],
          error: null,
        });
        store.decide(decided('T1', '2026-01-07T12:00:31.000Z'));
      });
      expect(store.commandEvents('T1').map((e) => e.type)).toEqual(['SUBMITTED', 'ESCALATED', 'DECIDED']);
      store.close();
    });
  });
}
