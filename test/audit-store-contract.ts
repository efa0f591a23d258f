/**
 * The contract every AuditStore implementation must pass: SQLite today, PostgreSQL tomorrow. Run
 * it against each backend (describeAuditStoreContract in its own test file), so the seam stays
 * honest. It goes through the AuditStore interface only: nothing here knows how a backend
 * stores anything, so a new backend passes by behaving, not by looking the same inside.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type {
  AuditStore,
  CheckpointSigner,
  DecidedBody,
  EscalatedBody,
  ExecEndBody,
  ExecStartBody,
  RawEvent,
  SubmittedBody,
} from '../engine/index.js';
import type { WriteFailedBody } from '../engine/model/events.js';
import { CHAIN_TAG, GENESIS, chainHash, checkpointOrigin, leafHash } from '../engine/audit/chain.js';
import { gateSigner, parseCheckpoint, verifyCheckpoint } from '../engine/audit/checkpoint.js';
import { tempDir } from './helpers.js';

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
  extra: Partial<DecidedBody> = {},
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
    ...extra,
  };
}

function escalated(id: string, at: string): EscalatedBody {
  return { type: 'ESCALATED', command_id: id, at, after_seconds: 30, notifier: ['true'], error: null };
}

function execStart(id: string, at: string): ExecStartBody {
  return {
    type: 'EXEC_START',
    command_id: id,
    started_at: at,
    decided_leaf: '00',
    argv: ['bash', '-c', 'ls'],
    cwd: '/tmp',
    env_removed: [],
    recording: 'r.cast',
  };
}

function execEnd(id: string, startedAt: string, endedAt: string): ExecEndBody {
  return {
    type: 'EXEC_END',
    command_id: id,
    started_at: startedAt,
    ended_at: endedAt,
    duration_ms: Date.parse(endedAt) - Date.parse(startedAt),
    exit_code: 0,
    signal: null,
    recording: null,
    recording_error: null,
  };
}

/** A command run by one program (session history counts the programs a session ran). */
function running(program: string): Partial<SubmittedBody> {
  return {
    command: program,
    segments: [
      {
        argv: [program],
        program,
        dynamic: false,
        covered_by: null,
        via: 'top',
        parent: null,
        wrappers: [],
        privileged: false,
        span: [0, program.length],
      },
    ],
  };
}

async function collect(events: AsyncIterable<RawEvent>): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise and the function that resolves it, for ordering steps across two tasks. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

const T = (s: number): string => new Date(Date.parse('2026-01-07T12:00:00.000Z') + s * 1000).toISOString();

/** What the contract asks of a store it opens, beyond the trail itself. */
export interface ContractStoreOptions {
  /** Sign a checkpoint with every decision (and on `checkpoint`). */
  readonly signer?: CheckpointSigner | undefined;
  /** Called with every checkpoint the store signs, once the transaction that wrote it committed. */
  readonly witness?: ((note: string) => void) | undefined;
}

/** How the contract gets stores of the backend under test. */
export interface AuditStoreFactory {
  /** A fresh, empty trail of its own (its own directory, its own database). */
  create(options?: ContractStoreOptions): AuditStore | Promise<AuditStore>;
  /** Another store over the trail `store` was created on (the next writer, e.g. after a restart). */
  reopen(store: AuditStore, options?: ContractStoreOptions): AuditStore | Promise<AuditStore>;
}

export function describeAuditStoreContract(name: string, factory: AuditStoreFactory): void {
  describe(`AuditStore contract: ${name}`, () => {
    const opened = new Set<AuditStore>();
    const open = async (options?: ContractStoreOptions): Promise<AuditStore> => {
      const store = await factory.create(options);
      opened.add(store);
      return store;
    };
    const reopen = async (store: AuditStore, options?: ContractStoreOptions): Promise<AuditStore> => {
      const next = await factory.reopen(store, options);
      opened.add(next);
      return next;
    };
    const close = async (store: AuditStore): Promise<void> => {
      opened.delete(store);
      await store.close();
    };
    afterEach(async () => {
      const stores = [...opened];
      opened.clear();
      for (const s of stores) await s.close();
    });
    /** A signer of its own for each store that signs (how it is kept is no business of the store). */
    const signer = (): CheckpointSigner => gateSigner(tempDir('policy-gate-contract-key-'));

    describe('appending and reading back', () => {
      it('a fresh store is empty, whole and says where it is', async () => {
        const store = await open();
        expect(typeof store.location).toBe('string');
        expect(store.location.length).toBeGreaterThan(0);
        expect(store.schemaProblems).toEqual([]);
        expect(await store.eventCount()).toBe(0);
        expect(await store.events()).toEqual([]);
        expect(await collect(store.rawEvents())).toEqual([]);
        expect(await store.commands()).toEqual([]);
        expect(await store.checkpoints()).toEqual([]);
        expect(await store.latestCheckpoint()).toBeNull();
        expect(await store.policyRevisions()).toEqual([]);
        expect(await store.overdue(new Date(T(3600)))).toEqual([]);
        expect(await store.integrity()).toEqual({ ok: true });
      });

      it('a submission is a pending command until decided, with every field kept', async () => {
        const store = await open();
        const body = submitted('A', T(0), { intent: 'list files', deadline: T(60) });
        const event = await store.submit(body);
        expect(event).toMatchObject({ seq: 1, type: 'SUBMITTED', command_id: 'A', at: T(0), body });
        expect(await store.command('A')).toMatchObject({
          command_id: 'A',
          decision: 'pending',
          decided_by: null,
          decided_at: null,
          command: 'ls -la',
          session_id: 's1',
          agent: 'test',
          intent: 'list files',
          deadline: T(60),
          execution: null,
        });
        expect(await store.decision('A')).toBeNull();
        const decision = decided('A', T(1), 'denied', 'policy_rule:x.y', { submitted_leaf: event.leaf });
        const stored = await store.decide(decision);
        expect(stored).toMatchObject({ seq: 2, type: 'DECIDED', command_id: 'A', at: T(1), body: decision });
        expect(await store.decision('A')).toEqual(decision);
        expect(await store.command('A')).toMatchObject({
          decision: 'denied',
          decided_by: 'policy_rule:x.y',
          decided_at: T(1),
          review_latency_ms: 5,
        });
        expect(await store.command('missing')).toBeNull();
        expect(await store.decision('missing')).toBeNull();
        expect(await store.commandEvents('missing')).toEqual([]);
      });

      it('what an append returns is what is read back', async () => {
        const store = await open();
        const appended = [
          await store.submit(submitted('R1', T(0))),
          (await store.decide(decided('R1', T(1), 'approved', 'alice')))!,
          (await store.record(escalated('R1', T(2))))!,
        ];
        expect(await store.events()).toEqual(appended);
        expect(await store.commandEvents('R1')).toEqual(appended);
        expect(await store.events(2)).toEqual(appended.slice(1));
        expect(await store.events(4)).toEqual([]);
        const raw = await collect(store.rawEvents());
        expect(
          raw.map((e) => ({
            seq: e.seq,
            type: e.type,
            command_id: e.command_id,
            at: e.at,
            bytes: Buffer.from(e.bytes).toString('hex'),
            leaf: Buffer.from(e.leaf).toString('hex'),
            chain: Buffer.from(e.chain).toString('hex'),
          })),
        ).toEqual(
          appended.map((e) => ({
            seq: e.seq,
            type: e.type,
            command_id: e.command_id,
            at: e.at,
            bytes: e.bytes.toString('hex'),
            leaf: e.leaf,
            chain: e.chain,
          })),
        );
      });

      it('eventCount counts every event appended, and nothing refused', async () => {
        const store = await open();
        expect(await store.eventCount()).toBe(0);
        await store.submit(submitted('N', T(0)));
        expect(await store.eventCount()).toBe(1);
        await store.decide(decided('N', T(1)));
        expect(await store.decide(decided('N', T(2)))).toBeNull();
        expect(await store.eventCount()).toBe(2);
        await store.record(escalated('N', T(3)));
        expect(await store.eventCount()).toBe(3);
        expect(await store.eventCount()).toBe((await store.events()).length);
        expect(await store.eventCount()).toBe((await collect(store.rawEvents())).length);
      });

      it('a second submission of a command is refused, the first kept', async () => {
        const store = await open();
        await store.submit(submitted('S', T(0)));
        await expect(store.submit(submitted('S', T(1), { command: 'rm -rf /' }))).rejects.toThrow();
        expect(await store.eventCount()).toBe(1);
        expect(await store.command('S')).toMatchObject({ command: 'ls -la', submitted_at: T(0) });
      });
    });

    describe('one decision per command', () => {
      it('a second decision is refused (null), the first kept', async () => {
        const store = await open();
        await store.submit(submitted('B', T(0)));
        expect(await store.decide(decided('B', T(1), 'timed_out', 'timeout'))).not.toBeNull();
        expect(await store.decide(decided('B', T(2), 'approved', 'alice'))).toBeNull();
        expect(await store.decision('B')).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
        expect((await store.commandEvents('B')).map((e) => e.type)).toEqual(['SUBMITTED', 'DECIDED']);
      });

      it('two decisions made at once: exactly one is recorded, and it is the one read back', async () => {
        const store = await open();
        await store.submit(submitted('C', T(0)));
        const [a, b] = await Promise.all([
          store.decide(decided('C', T(1), 'approved', 'alice')),
          store.decide(decided('C', T(1), 'denied', 'bob')),
        ]);
        expect([a, b].filter((d) => d !== null)).toHaveLength(1);
        const winner = (a ?? b)!;
        expect(await store.decision('C')).toEqual(winner.body);
        expect((await store.commandEvents('C')).map((e) => e.type)).toEqual(['SUBMITTED', 'DECIDED']);
      });

      it('many commands decided at once each get their one decision', async () => {
        const store = await open();
        const ids = Array.from({ length: 8 }, (_v, i) => `M${i}`);
        for (const [i, id] of ids.entries()) await store.submit(submitted(id, T(i)));
        const results = await Promise.all(
          ids.flatMap((id, i) => [
            store.decide(decided(id, T(10 + i), 'approved', 'alice')),
            store.decide(decided(id, T(10 + i), 'denied', 'bob')),
          ]),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(ids.length);
        for (const id of ids) expect(await store.decision(id)).not.toBeNull();
        expect(await store.eventCount()).toBe(2 * ids.length);
      });
    });

    describe('the other events', () => {
      it('are recorded in order; one EXEC_START and one EXEC_END per command', async () => {
        const store = await open();
        await store.submit(submitted('X1', T(0)));
        await store.decide(decided('X1', T(1), 'approved', 'alice'));
        const start = execStart('X1', T(2));
        expect(await store.record(start)).not.toBeNull();
        expect(await store.command('X1')).toMatchObject({
          execution: { started_at: T(2), ended_at: null, exit_code: null, recording_path: 'r.cast' },
        });
        expect(await store.record({ ...start, started_at: T(3) })).toBeNull();
        const end = execEnd('X1', T(2), T(4));
        expect(await store.record(end)).not.toBeNull();
        expect(await store.record({ ...end, exit_code: 1 })).toBeNull();
        expect((await store.commandEvents('X1')).map((e) => `${e.type}@${e.at}`)).toEqual([
          `SUBMITTED@${T(0)}`,
          `DECIDED@${T(1)}`,
          `EXEC_START@${T(2)}`,
          `EXEC_END@${T(4)}`,
        ]);
        expect((await store.command('X1'))!.execution).toMatchObject({
          started_at: T(2),
          ended_at: T(4),
          exit_code: 0,
          duration_ms: 2000,
        });
        expect((await store.commands())[0]!.execution).toMatchObject({ exit_code: 0 });
      });

      it('two starts (or two ends) of one run recorded at once: exactly one is kept', async () => {
        const store = await open();
        await store.submit(submitted('X2', T(0)));
        await store.decide(decided('X2', T(1), 'approved', 'alice'));
        const starts = await Promise.all([store.record(execStart('X2', T(2))), store.record(execStart('X2', T(3)))]);
        expect(starts.filter((s) => s !== null)).toHaveLength(1);
        const started = starts.find((s) => s !== null)!.at;
        const ends = await Promise.all([
          store.record(execEnd('X2', started, T(5))),
          store.record(execEnd('X2', started, T(6))),
        ]);
        expect(ends.filter((s) => s !== null)).toHaveLength(1);
        expect((await store.commandEvents('X2')).map((e) => e.type)).toEqual([
          'SUBMITTED',
          'DECIDED',
          'EXEC_START',
          'EXEC_END',
        ]);
      });

      it('events allowed more than once are all kept, and gate events have no command', async () => {
        const store = await open();
        await store.submit(submitted('Y', T(0)));
        expect(await store.record(escalated('Y', T(30)))).not.toBeNull();
        expect(await store.record(escalated('Y', T(60)))).not.toBeNull();
        const start = await store.record({
          type: 'GATE_START',
          command_id: null,
          at: T(61),
          component: 'review',
          gate_version: '0.0.0',
          pid: 1,
          host: 'h',
          user: 'u',
        });
        expect(start).toMatchObject({ type: 'GATE_START', command_id: null, at: T(61) });
        expect((await store.commandEvents('Y')).map((e) => e.type)).toEqual(['SUBMITTED', 'ESCALATED', 'ESCALATED']);
        expect((await store.events()).map((e) => e.type)).toEqual([
          'SUBMITTED',
          'ESCALATED',
          'ESCALATED',
          'GATE_START',
        ]);
      });
    });

    describe('atomically', () => {
      it('everything appended in it commits together, and it returns what its function returns', async () => {
        const store = await open();
        await store.submit(submitted('T1', T(0)));
        const result = await store.atomically(async (tx) => {
          await tx.record(escalated('T1', T(30)));
          await tx.decide(decided('T1', T(31)));
          await tx.submit(submitted('T2', T(32)));
          return 'done';
        });
        expect(result).toBe('done');
        expect((await store.commandEvents('T1')).map((e) => e.type)).toEqual(['SUBMITTED', 'ESCALATED', 'DECIDED']);
        expect(await store.command('T2')).not.toBeNull();
        expect((await store.events()).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      });

      it('when its function throws, nothing it appended is readable, and the error is the function’s', async () => {
        const s = signer();
        const store = await open({ signer: s });
        await store.submit(submitted('K1', T(0), { session_id: 'k', deadline: T(10) }));
        await store.decide(decided('K1', T(1), 'denied', 'policy_rule:x.y', { policy_revision: 'sha256:one' }));
        await store.submit(submitted('K2', T(2), { session_id: 'k', deadline: T(10) }));
        const state = async (): Promise<unknown> => ({
          count: await store.eventCount(),
          events: await store.events(),
          raw: (await collect(store.rawEvents())).map((e) => Buffer.from(e.chain).toString('hex')),
          commands: await store.commands(),
          k2: await store.commandEvents('K2'),
          checkpoints: await store.checkpoints(),
          revisions: await store.policyRevisions(),
          overdue: await store.overdue(new Date(T(3600))),
          history: await store.sessionHistory('k', new Date(T(3600)), 3600),
        });
        const before = await state();
        const failure = new Error('stop');
        await expect(
          store.atomically(async (tx) => {
            await tx.record(escalated('K2', T(30)));
            await tx.decide(decided('K2', T(31), 'denied', 'bob', { policy_revision: 'sha256:two' }));
            await tx.submit(submitted('K3', T(32), { session_id: 'k', deadline: T(40), ...running('curl') }));
            await store.decide(decided('K3', T(33)));
            expect(await tx.command('K3')).not.toBeNull(); // it sees its own appends
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await state()).toEqual(before);
        expect(await store.command('K3')).toBeNull();
        expect(await store.decision('K2')).toBeNull();
        expect(await store.decision('K3')).toBeNull();
        // the store goes on where the chain ended: no gap, no fork
        const next = await store.submit(submitted('K4', T(50)));
        const events = await store.events();
        expect(next.seq).toBe(events.length);
        expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
        expect(next.chain).toBe(
          chainHash(Buffer.from(events.at(-2)!.chain, 'hex'), leafHash(next.bytes)).toString('hex'),
        );
        expect(await store.integrity()).toEqual({ ok: true });
      });

      it('calls on the store itself inside it join the transaction (and roll back with it)', async () => {
        const store = await open();
        await store.submit(submitted('J1', T(0)));
        await store.atomically(async (tx) => {
          await store.record(escalated('J1', T(30)));
          // the store's reads see what the transaction appended, through the store or the tx
          expect((await store.commandEvents('J1')).map((e) => e.type)).toEqual(['SUBMITTED', 'ESCALATED']);
          expect(await tx.eventCount()).toBe(2);
          await store.decide(decided('J1', T(31)));
          expect(await tx.decision('J1')).not.toBeNull();
          // a nested atomically joins the outer transaction too
          await store.atomically(async () => {
            await store.submit(submitted('J2', T(32)));
          });
          expect(await store.command('J2')).not.toBeNull();
        });
        expect((await store.events()).map((e) => `${e.type}:${e.command_id}`)).toEqual([
          'SUBMITTED:J1',
          'ESCALATED:J1',
          'DECIDED:J1',
          'SUBMITTED:J2',
        ]);
        await expect(
          store.atomically(async () => {
            await store.record(escalated('J2', T(40)));
            await store.atomically(async () => {
              await store.decide(decided('J2', T(41)));
            });
            throw new Error('stop');
          }),
        ).rejects.toThrow('stop');
        expect((await store.commandEvents('J2')).map((e) => e.type)).toEqual(['SUBMITTED']);
        expect(await store.eventCount()).toBe(4);
      });

      it('a decision refused inside it leaves the transaction usable: the rest commits', async () => {
        const store = await open();
        await store.submit(submitted('D1', T(0)));
        await store.decide(decided('D1', T(1), 'timed_out', 'timeout'));
        const outcome = await store.atomically(async (tx) => {
          const refused = await tx.decide(decided('D1', T(2), 'approved', 'alice'));
          const start = await tx.record(execStart('D1', T(3)));
          const again = await tx.record(execStart('D1', T(4)));
          await tx.record(escalated('D1', T(5)));
          return { refused, start: start !== null, again, decision: (await tx.decision('D1'))?.decision };
        });
        expect(outcome).toEqual({ refused: null, start: true, again: null, decision: 'timed_out' });
        expect((await store.commandEvents('D1')).map((e) => e.type)).toEqual([
          'SUBMITTED',
          'DECIDED',
          'EXEC_START',
          'ESCALATED',
        ]);
        const events = await store.events();
        expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      });

      it('what it reads cannot change before it commits: a write from outside waits for it', async () => {
        const store = await open();
        await store.submit(submitted('W1', T(0)));
        const inside = signal();
        const queued = signal();
        const transaction = store.atomically(async (tx) => {
          const before = await tx.eventCount();
          inside.fire();
          await queued.promise;
          await delay(30); // room for the outside write to slip in, if it could
          expect(await tx.eventCount()).toBe(before);
          await tx.record(escalated('W1', T(30)));
          return before;
        });
        await inside.promise;
        const outside = store.submit(submitted('W2', T(31)));
        queued.fire();
        const [before] = await Promise.all([transaction, outside]);
        const events = await store.events();
        expect(before).toBe(1);
        expect(events.map((e) => `${e.seq}:${e.type}:${e.command_id}`)).toEqual([
          '1:SUBMITTED:W1',
          '2:ESCALATED:W1',
          '3:SUBMITTED:W2',
        ]);
      });
    });

    describe('snapshot', () => {
      it('sees one state of the trail, whatever is appended meanwhile', async () => {
        const store = await open();
        await store.submit(submitted('P1', T(0)));
        await store.decide(decided('P1', T(1)));
        const inside = signal();
        const queued = signal();
        const reading = store.snapshot(async (r) => {
          const read = async (): Promise<unknown> => ({
            count: await r.eventCount(),
            commands: (await r.commands()).map((c) => c.command_id),
            raw: (await collect(r.rawEvents())).length,
            p2: await r.command('P2'),
          });
          const first = await read();
          inside.fire();
          await queued.promise;
          await delay(30); // room for the outside write to land, if it could
          return { first, second: await read() };
        });
        await inside.promise;
        const write = store.submit(submitted('P2', T(2)));
        queued.fire();
        const { first, second } = await reading;
        await write;
        expect(first).toEqual({ count: 2, commands: ['P1'], raw: 2, p2: null });
        expect(second).toEqual(first);
        expect(await store.eventCount()).toBe(3);
        expect(await store.command('P2')).not.toBeNull();
      });

      it('returns what its function returns; the reads of a snapshot are the reads of the store', async () => {
        const store = await open();
        await store.submit(submitted('P3', T(0)));
        const seen = await store.snapshot(async (r) => ({
          events: await r.events(),
          command: await r.command('P3'),
          history: await r.sessionHistory('s1', new Date(T(10)), 60),
        }));
        expect(seen).toEqual({
          events: await store.events(),
          command: await store.command('P3'),
          history: await store.sessionHistory('s1', new Date(T(10)), 60),
        });
      });
    });

    describe('the hash chain', () => {
      it('events are canonical bytes, hash-chained from genesis, with contiguous sequence numbers', async () => {
        const store = await open();
        await store.submit(submitted('E1', T(0)));
        await store.decide(decided('E1', T(0.5)));
        await store.submit(submitted('E2', T(1), { intent: 'naïve — ünïcode ✓' }));
        await store.atomically(async (tx) => {
          await tx.record(escalated('E2', T(30)));
          await tx.decide(decided('E2', T(31), 'approved', 'alice'));
        });
        await store.record(execStart('E2', T(32)));
        const events = await store.events();
        const raw = await collect(store.rawEvents());
        expect(raw.map((e) => e.seq)).toEqual(raw.map((_e, i) => i + 1));
        expect(raw).toHaveLength(6);
        let previous: Buffer = GENESIS;
        for (const [i, e] of raw.entries()) {
          const leaf = leafHash(Buffer.from(e.bytes));
          expect(Buffer.from(e.leaf).toString('hex')).toBe(leaf.toString('hex'));
          const chain = chainHash(previous, leaf);
          expect(Buffer.from(e.chain).toString('hex')).toBe(chain.toString('hex'));
          previous = chain;
          // the parsed view agrees with the raw one
          expect(events[i]).toMatchObject({ seq: e.seq, type: e.type, command_id: e.command_id, at: e.at });
          expect(events[i]!.leaf).toBe(leaf.toString('hex'));
          expect(events[i]!.chain).toBe(chain.toString('hex'));
          // canonical: sorted keys, no whitespace, and it parses back to the body
          const text = Buffer.from(e.bytes).toString('utf8');
          expect(JSON.parse(text)).toEqual(events[i]!.body);
          const keys = Object.keys(JSON.parse(text) as object);
          expect(keys).toEqual([...keys].sort());
          expect(text).not.toMatch(/\n|": /);
        }
        // the chain is the one defined once for every backend (not a backend's own variant)
        expect(CHAIN_TAG.toString('utf8')).toBe('policy-gate/chain/v1');
      });

      it('reading the raw events inside a snapshot gives the same events', async () => {
        const store = await open();
        await store.submit(submitted('E3', T(0)));
        await store.decide(decided('E3', T(1)));
        const outside = await collect(store.rawEvents());
        const inside = await store.snapshot((r) => collect(r.rawEvents()));
        expect(inside.map((e) => Buffer.from(e.chain).toString('hex'))).toEqual(
          outside.map((e) => Buffer.from(e.chain).toString('hex')),
        );
      });
    });

    describe('commands', () => {
      it('oldest first, filtered by session, decision (pending too), time and count', async () => {
        const store = await open();
        await store.submit(submitted('C1', T(0), { session_id: 'x' }));
        await store.submit(submitted('C2', T(3600), { session_id: 'y' }));
        await store.submit(submitted('C3', T(7200), { session_id: 'x' }));
        await store.submit(submitted('C4', T(7300), { session_id: 'y' }));
        await store.decide(decided('C3', T(7201), 'whitelisted', 'whitelist_rule:fs.list'));
        await store.decide(decided('C1', T(7302), 'denied', 'bob'));
        const ids = async (filter?: Parameters<AuditStore['commands']>[0]): Promise<string[]> =>
          (await store.commands(filter)).map((c) => c.command_id);
        expect(await ids()).toEqual(['C1', 'C2', 'C3', 'C4']);
        expect(await ids({})).toEqual(['C1', 'C2', 'C3', 'C4']);
        expect(await ids({ session: 'x' })).toEqual(['C1', 'C3']);
        expect(await ids({ session: 'nobody' })).toEqual([]);
        expect(await ids({ decision: 'pending' })).toEqual(['C2', 'C4']);
        expect(await ids({ decision: 'whitelisted' })).toEqual(['C3']);
        expect(await ids({ decision: 'denied' })).toEqual(['C1']);
        expect(await ids({ decision: 'approved' })).toEqual([]);
        // since: submitted at or after it (a decision made later does not count)
        expect(await ids({ since: T(1800) })).toEqual(['C2', 'C3', 'C4']);
        expect(await ids({ since: T(3600) })).toEqual(['C2', 'C3', 'C4']);
        expect(await ids({ since: T(7250) })).toEqual(['C4']);
        // limit: the newest N, still oldest first
        expect(await ids({ limit: 2 })).toEqual(['C3', 'C4']);
        expect(await ids({ limit: 10 })).toEqual(['C1', 'C2', 'C3', 'C4']);
        // filters combine, and the limit applies to what they leave
        expect(await ids({ session: 'y', decision: 'pending' })).toEqual(['C2', 'C4']);
        expect(await ids({ decision: 'pending', limit: 1 })).toEqual(['C4']);
        expect(await ids({ session: 'x', since: T(3600) })).toEqual(['C3']);
        expect(await ids({ session: 'x', decision: 'pending' })).toEqual([]);
        const [c1, c2] = await store.commands({ limit: 10 });
        expect(c1).toMatchObject({ decision: 'denied', decided_by: 'bob', session_id: 'x' });
        expect(c2).toMatchObject({ decision: 'pending', decided_by: null, session_id: 'y' });
        // the list and the single record agree
        for (const c of await store.commands()) expect(await store.command(c.command_id)).toEqual(c);
      });
    });

    describe('session history', () => {
      it('counts the window before now and the programs seen; later commands do not count', async () => {
        const store = await open();
        await store.submit(submitted('H1', T(0), { session_id: 'h' }));
        await store.submit(submitted('H2', T(50), { session_id: 'h', ...running('git') }));
        await store.submit(submitted('H3', T(55), { session_id: 'other', ...running('make') }));
        await store.submit(submitted('H4', T(300), { session_id: 'h', ...running('curl') }));
        const h = await store.sessionHistory('h', new Date(T(60)), 30);
        expect(h.recentCount).toBe(1); // H2 only: H1 is before the window, H4 after now
        expect(h.total).toBe(2);
        expect([...h.programs].sort()).toEqual(['git', 'ls']);
        const wide = await store.sessionHistory('h', new Date(T(60)), 3600);
        expect(wide).toMatchObject({ recentCount: 2, total: 2 });
        const later = await store.sessionHistory('h', new Date(T(600)), 30);
        expect(later).toMatchObject({ recentCount: 0, total: 3 });
        expect([...later.programs].sort()).toEqual(['curl', 'git', 'ls']);
        expect(await store.sessionHistory('nobody', new Date(T(60)), 60)).toMatchObject({ recentCount: 0, total: 0 });
        expect([...(await store.sessionHistory('nobody', new Date(T(60)), 60)).programs]).toEqual([]);
      });

      it('decisions and other events of a session are not commands', async () => {
        const store = await open();
        await store.submit(submitted('H5', T(0), { session_id: 'g' }));
        await store.decide(decided('H5', T(1)));
        await store.record(escalated('H5', T(2)));
        expect(await store.sessionHistory('g', new Date(T(10)), 60)).toMatchObject({ recentCount: 1, total: 1 });
      });
    });

    describe('overdue', () => {
      it('pending submissions past their deadline, oldest first, with the leaf, up to the limit', async () => {
        const store = await open();
        const o1 = await store.submit(submitted('O1', T(0), { deadline: T(60) }));
        await store.submit(submitted('O2', T(1), { deadline: T(61) }));
        await store.decide(decided('O2', T(2), 'approved', 'alice'));
        await store.submit(submitted('O3', T(3), { deadline: T(3600) }));
        await store.submit(submitted('O4', T(4), { deadline: null }));
        await store.submit(submitted('O5', T(5)));
        const o6 = await store.submit(submitted('O6', T(6), { deadline: T(30) }));
        const overdue = await store.overdue(new Date(T(120)));
        expect(overdue.map((o) => o.submitted.command_id)).toEqual(['O1', 'O6']);
        expect(overdue[0]).toEqual({ submitted: o1.body, leaf: o1.leaf });
        expect(overdue[1]!.leaf).toBe(o6.leaf);
        expect((await store.overdue(new Date(T(120)), 1)).map((o) => o.submitted.command_id)).toEqual(['O1']);
        expect((await store.overdue(new Date(T(45)))).map((o) => o.submitted.command_id)).toEqual(['O6']);
        expect(await store.overdue(new Date(T(10)))).toEqual([]);
        // once decided, no longer overdue
        await store.decide(decided('O1', T(121), 'timed_out', 'timeout'));
        expect((await store.overdue(new Date(T(7200)))).map((o) => o.submitted.command_id)).toEqual(['O3', 'O6']);
      });
    });

    describe('policy revisions', () => {
      it('the revisions decisions were made under, each once', async () => {
        const store = await open();
        await store.submit(submitted('V1', T(0), { policy_revision: 'sha256:submitted-only' }));
        await store.submit(submitted('V2', T(1)));
        await store.submit(submitted('V3', T(2)));
        await store.submit(submitted('V4', T(3)));
        await store.decide(decided('V2', T(4), 'denied', 'bob', { policy_revision: 'sha256:one' }));
        await store.decide(decided('V3', T(5), 'denied', 'bob', { policy_revision: 'sha256:two' }));
        await store.decide(decided('V4', T(6), 'denied', 'bob', { policy_revision: 'sha256:one' }));
        expect([...(await store.policyRevisions())].sort()).toEqual(['sha256:one', 'sha256:two']);
      });
    });

    describe('checkpoints', () => {
      it('a store without a signer signs nothing', async () => {
        const store = await open();
        await store.submit(submitted('Q0', T(0)));
        await store.decide(decided('Q0', T(1)));
        expect(await store.checkpoint(new Date(T(2)))).toBeNull();
        expect(await store.checkpoints()).toEqual([]);
        expect(await store.latestCheckpoint()).toBeNull();
      });

      it('a decision is signed with its checkpoint, handed to the witness once committed', async () => {
        const key = signer();
        const notes: string[] = [];
        const store = await open({ signer: key, witness: (note) => notes.push(note) });
        expect(await store.checkpoint(new Date(T(0)))).toBeNull(); // no event yet
        const first = await store.submit(submitted('Q1', T(0)));
        expect(await store.checkpoints()).toEqual([]); // a submission alone is not signed
        const decision = (await store.decide(decided('Q1', T(1))))!;
        const checkpoints = await store.checkpoints();
        expect(checkpoints).toHaveLength(1);
        const cp = checkpoints[0]!;
        expect(cp).toMatchObject({ size: 2, at: T(1) });
        expect(Buffer.from(cp.chain).toString('hex')).toBe(decision.chain);
        expect(await store.latestCheckpoint()).toEqual(cp);
        expect(notes).toEqual([cp.note]);
        // the note is a signed checkpoint of this trail: its origin, its size, its chain value
        const parsed = parseCheckpoint(cp.note);
        expect(parsed).toMatchObject({ origin: checkpointOrigin(Buffer.from(first.leaf, 'hex')), size: 2 });
        expect(parsed.chain.toString('hex')).toBe(decision.chain);
        expect(verifyCheckpoint(parsed, [key])).not.toBeNull();
        expect(verifyCheckpoint(parsed, [signer()])).toBeNull();
      });

      it('checkpoint signs the chain as it is now, unless the newest covers it or is young enough', async () => {
        const key = signer();
        const notes: string[] = [];
        const store = await open({ signer: key, witness: (note) => notes.push(note) });
        await store.submit(submitted('Q2', T(0)));
        await store.decide(decided('Q2', T(1)));
        const covered = (await store.latestCheckpoint())!;
        // the newest already covers every event: returned, nothing signed
        expect(await store.checkpoint(new Date(T(2)))).toEqual(covered);
        expect(await store.checkpoints()).toHaveLength(1);
        await store.record(escalated('Q2', T(3)));
        // younger than maxAge: returned as it is
        expect(await store.checkpoint(new Date(T(4)), 60_000)).toEqual(covered);
        expect(await store.checkpoints()).toHaveLength(1);
        // older than maxAge (or no maxAge): a new one, covering the event since
        const fresh = (await store.checkpoint(new Date(T(120)), 60_000))!;
        expect(fresh).toMatchObject({ size: 3, at: T(120) });
        expect(fresh.id).not.toBe(covered.id);
        const events = await store.events();
        expect(Buffer.from(fresh.chain).toString('hex')).toBe(events.at(-1)!.chain);
        expect(await store.checkpoints()).toEqual([covered, fresh]);
        expect(await store.latestCheckpoint()).toEqual(fresh);
        expect(notes).toEqual([covered.note, fresh.note]);
        expect(verifyCheckpoint(parseCheckpoint(fresh.note), [key])).not.toBeNull();
        expect(parseCheckpoint(fresh.note).origin).toBe(parseCheckpoint(covered.note).origin);
      });

      it('checkpoints signed in a transaction reach the witness after it commits, never when it rolls back', async () => {
        const notes: string[] = [];
        const store = await open({ signer: signer(), witness: (note) => notes.push(note) });
        await store.submit(submitted('Q3', T(0)));
        await store.submit(submitted('Q4', T(1)));
        await expect(
          store.atomically(async (tx) => {
            await tx.decide(decided('Q3', T(2)));
            throw new Error('stop');
          }),
        ).rejects.toThrow('stop');
        expect(notes).toEqual([]);
        expect(await store.checkpoints()).toEqual([]);
        let seenInside = -1;
        await store.atomically(async (tx) => {
          await tx.decide(decided('Q3', T(3)));
          await tx.decide(decided('Q4', T(4)));
          seenInside = notes.length;
        });
        expect(seenInside).toBe(0); // not before the commit
        const latest = (await store.latestCheckpoint())!;
        expect(latest.size).toBe(4);
        expect(notes.length).toBeGreaterThanOrEqual(1);
        expect(notes.at(-1)).toBe(latest.note); // the newest covers the others
        for (const note of notes) expect((await store.checkpoints()).map((c) => c.note)).toContain(note);
      });
    });

    describe('integrity', () => {
      it('a whole store, with events and checkpoints, is ok', async () => {
        const store = await open({ signer: signer() });
        expect(await store.integrity()).toEqual({ ok: true });
        for (let i = 0; i < 20; i++) {
          await store.submit(submitted(`I${i}`, T(i)));
          if (i % 2 === 0) await store.decide(decided(`I${i}`, T(i + 0.5)));
        }
        await store.checkpoint(new Date(T(100)));
        expect(await store.integrity()).toEqual({ ok: true });
      });
    });

    describe('failed writes', () => {
      it('a noted failure is recorded as WRITE_FAILED by the next writer, with a late EXEC_END', async () => {
        const store = await open();
        await store.submit(submitted('F1', T(0)));
        await store.decide(decided('F1', T(1), 'approved', 'alice'));
        await store.record(execStart('F1', T(2)));
        const end = execEnd('F1', T(2), T(3));
        store.noteFailure('DECIDED', 'F0', new Error('disk I/O error'));
        store.noteFailure('EXEC_END', 'F1', new Error('database is locked'), end);
        store.noteFailure('TRANSACTION', null, 'no space left on device');
        // recorded by the next writer, not by this one
        expect(await store.eventCount()).toBe(3);
        await close(store);
        const next = await reopen(store);
        const events = (await next.events()).slice(3);
        expect(events.map((e) => e.type)).toEqual(['WRITE_FAILED', 'WRITE_FAILED', 'EXEC_END', 'WRITE_FAILED']);
        const failures = events.filter((e) => e.type === 'WRITE_FAILED').map((e) => e.body as WriteFailedBody);
        expect(failures[0]).toMatchObject({
          command_id: null,
          event_type: 'DECIDED',
          failed_command_id: 'F0',
          pid: process.pid,
        });
        expect(failures[0]!.error).toMatch(/disk I\/O error/);
        expect(failures[1]).toMatchObject({ event_type: 'EXEC_END', failed_command_id: 'F1' });
        expect(failures[1]!.error).toMatch(/database is locked/);
        expect(failures[2]).toMatchObject({ event_type: 'TRANSACTION', failed_command_id: null });
        expect(failures[2]!.error).toMatch(/no space left/);
        expect(events[2]!.body).toEqual(end);
        expect((await next.command('F1'))!.execution).toMatchObject({ ended_at: T(3), exit_code: 0 });
        // chained on like any other event
        const raw = await collect(next.rawEvents());
        expect(raw.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(await next.integrity()).toEqual({ ok: true });
        // recorded once: the writer after that finds nothing more to record
        await close(next);
        const third = await reopen(store);
        expect(await third.eventCount()).toBe(7);
      });

      it('a late EXEC_END is not recorded when the run already ended', async () => {
        const store = await open();
        await store.submit(submitted('F2', T(0)));
        await store.decide(decided('F2', T(1), 'approved', 'alice'));
        await store.record(execStart('F2', T(2)));
        await store.record(execEnd('F2', T(2), T(3)));
        store.noteFailure('EXEC_END', 'F2', new Error('database is locked'), execEnd('F2', T(2), T(9)));
        await close(store);
        const next = await reopen(store);
        expect((await next.events()).map((e) => e.type)).toEqual([
          'SUBMITTED',
          'DECIDED',
          'EXEC_START',
          'EXEC_END',
          'WRITE_FAILED',
        ]);
        expect((await next.command('F2'))!.execution).toMatchObject({ ended_at: T(3) });
      });
    });
  });
}
