/**
 * Reviewers' decisions in process: real ed25519 keys from ssh-keygen, real signatures, a real
 * SQLite store, and an injected clock for timeouts and escalation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyDecision,
  loadPolicy,
  type GateError,
  check,
  decisionStatement,
  parsePublicKey,
  signWithSshKeygen,
  submittedEvent,
  openSqliteStore,
  verifySignature,
  type AuditStore,
  type Clock,
  type DecisionSubmission,
  type Policy,
  type ReviewedBody,
  type ReviewRefusedBody,
} from '../engine/index.js';
import { NOON, tempDir } from './helpers.js';
import { ALICE, BOB, CAROL, keyFor, reviewPolicy, reviewPolicyDir } from './review-fixture.js';

/** A clock whose time moves only when the code under test sleeps (or the test says so). */
function fakeClock(start = NOON): Clock & { advance(ms: number): void; jumpWall(ms: number): void } {
  let mono = 5_000;
  let wallShift = 0;
  const m0 = mono;
  return {
    wall: () => new Date(start.getTime() + (mono - m0) + wallShift),
    monotonic: () => mono,
    bootId: () => 'test-boot',
    sleep: async (ms) => {
      mono += ms;
      await new Promise((r) => setImmediate(r));
    },
    advance(ms) {
      mono += ms;
    },
    jumpWall(ms) {
      wallShift += ms;
    },
  };
}

const FROM = { user: 'reviewer-account', host: 'review-host' };

function store(): AuditStore {
  return openSqliteStore(join(tempDir(), 'audit.db'));
}

async function pending(
  policy: Policy,
  s: AuditStore,
  clock: Clock,
  options: { command?: string; agent?: string; submitter?: string } = {},
): Promise<string> {
  const { record } = await check(
    { command: options.command ?? 'npm publish', wait: false, ...(options.agent ? { agent: options.agent } : {}) },
    {
      policy,
      store: s,
      clock,
      ...(options.submitter ? { submitter: { user: options.submitter, uid: 1000, host: FROM.host } } : {}),
    },
  );
  expect(record.decision).toBe('pending');
  return record.command_id;
}

async function signed(
  s: AuditStore,
  id: string,
  decision: 'approve' | 'deny',
  reviewer: string,
  keyOf = reviewer,
  reason: string | null = null,
): Promise<DecisionSubmission> {
  const { leaf } = await submittedEvent(s, id);
  const statement = decisionStatement({
    command_id: id,
    submitted_leaf: leaf,
    decision,
    reviewer,
    reason,
    signed_at: NOON.toISOString(),
  });
  return {
    command_id: id,
    statement,
    signature: signWithSshKeygen(Buffer.from(statement), keyFor(keyOf).file),
    from: FROM,
  };
}

async function refusals(s: AuditStore, id: string): Promise<ReviewRefusedBody[]> {
  return (await s.commandEvents(id)).filter((e) => e.type === 'REVIEW_REFUSED').map((e) => e.body as ReviewRefusedBody);
}

describe('SSHSIG: signatures made by ssh-keygen verify in process, and ours verify in ssh-keygen', () => {
  it('accepts the signer, and refuses another key, another message and another namespace', () => {
    const alice = parsePublicKey(keyFor('alice').pub);
    const bob = parsePublicKey(keyFor('bob').pub);
    const msg = Buffer.from('{"decision":"approve"}');
    const sig = signWithSshKeygen(msg, keyFor('alice').file);
    expect(verifySignature(msg, sig, alice)).toEqual({ ok: true });
    expect(verifySignature(msg, sig, bob)).toMatchObject({ ok: false, why: 'wrong-key' });
    expect(verifySignature(Buffer.from('{"decision":"deny"}'), sig, alice)).toMatchObject({
      ok: false,
      why: 'bad-signature',
    });
    const other = spawnSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'git', '-f', keyFor('alice').file], {
      input: msg,
    }).stdout.toString();
    expect(verifySignature(msg, other, alice)).toMatchObject({ ok: false, why: 'wrong-namespace' });
    expect(verifySignature(msg, 'not a signature', alice)).toMatchObject({ ok: false, why: 'malformed' });
    // one flipped bit in the signature bytes
    const body = sig.split('\n').slice(1, -2).join('');
    const raw = Buffer.from(body, 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    const flipped = `-----BEGIN SSH SIGNATURE-----\n${raw.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    expect(verifySignature(msg, flipped, alice)).toMatchObject({ ok: false, why: 'bad-signature' });
  });

  it('the fingerprint is the one ssh-keygen -l prints; only ed25519 keys are accepted', () => {
    const printed = execFileSync('ssh-keygen', ['-l', '-f', keyFor('alice').pubFile])
      .toString()
      .split(' ')[1];
    expect(parsePublicKey(keyFor('alice').pub).fingerprint).toBe(printed);
    const rsaFile = join(tempDir(), 'rsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsaFile]);
    expect(() => parsePublicKey(readFileSync(`${rsaFile}.pub`, 'utf8'))).toThrow(/ssh-rsa is not supported/);
  });
});

describe('reviewers.yaml', () => {
  it('is validated when the policy loads: bad keys, duplicate ids and shared keys name file and line', async () => {
    const oneLine = (p: Promise<unknown>) =>
      p.then(
        () => 'loaded',
        (err: GateError) => err.oneLine,
      );
    expect(await oneLine(reviewPolicy([ALICE, { id: 'alice', keyOf: 'bob' }]))).toMatch(
      /^reviewers\.yaml:\d+: rule alice: duplicate reviewer id/,
    );
    expect(await oneLine(reviewPolicy([ALICE, { id: 'mallory', keyOf: 'alice' }]))).toMatch(
      /^reviewers\.yaml:\d+: rule mallory: key SHA256:\S+ is already reviewer alice's/,
    );
    const dir = reviewPolicyDir([ALICE]);
    const rsa = 'ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 x';
    writeFileSync(
      join(dir, 'reviewers.yaml'),
      `reviewers:\n  - id: dave\n    name: Dave\n    roles: [reviewer]\n    key: ${rsa}\n`,
    );
    expect(await oneLine(loadPolicy(dir, { git: false }))).toMatch(/^reviewers\.yaml:2: rule dave: key: /);
    writeFileSync(
      join(dir, 'reviewers.yaml'),
      `reviewers:\n  - id: dave\n    name: Dave\n    roles: []\n    key: ${keyFor('dave').pub}\n`,
    );
    expect(await oneLine(loadPolicy(dir, { git: false }))).toMatch(
      /^reviewers\.yaml:4: schema: \/reviewers\/0\/roles: must NOT have fewer than 1 items/,
    );
  });

  it('is part of the policy revision: adding a reviewer changes the revision every decision records', async () => {
    const one = await reviewPolicy([ALICE]);
    const two = await reviewPolicy([ALICE, BOB]);
    expect(one.revision).not.toBe(two.revision);
  });
});

describe('applying a decision', () => {
  it('a signed approval decides the command: decided_by the reviewer, signature stored, latency from the monotonic clock', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    clock.advance(4_321);
    clock.jumpWall(-3_600_000); // the wall clock is set back an hour meanwhile
    const outcome = await applyDecision(await signed(s, id, 'approve', 'alice', 'alice', 'release day'), {
      policy,
      store: s,
      clock,
    });
    expect(outcome.kind).toBe('decided');
    const r = (await s.command(id))!;
    expect(r).toMatchObject({
      decision: 'approved',
      decided_by: 'alice',
      review_latency_ms: 4321,
      reason: 'release day',
    });
    expect(Date.parse(r.decided_at!) - Date.parse(r.submitted_at)).toBe(4321);
    expect(r.signatures).toHaveLength(1);
    expect(r.signatures[0]).toMatchObject({
      reviewer: 'alice',
      key_fingerprint: parsePublicKey(keyFor('alice').pub).fingerprint,
      submitted_from: FROM,
    });
    const decided = (await s.commandEvents(id)).find((e) => e.type === 'DECIDED')!;
    expect((decided.body as { submitted_leaf: string }).submitted_leaf).toBe((await submittedEvent(s, id)).leaf);
  });

  it('the stored signature re-verifies offline with ssh-keygen -Y verify', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock });
    const [sig] = (await s.command(id))!.signatures;
    const dir = tempDir();
    writeFileSync(join(dir, 'allowed_signers'), `alice namespaces="policy-gate" ${keyFor('alice').pub}\n`);
    writeFileSync(join(dir, 'decision.sig'), (sig as { signature: string }).signature);
    const verify = (statement: string) =>
      spawnSync(
        'ssh-keygen',
        [
          '-Y',
          'verify',
          '-f',
          join(dir, 'allowed_signers'),
          '-I',
          'alice',
          '-n',
          'policy-gate',
          '-s',
          join(dir, 'decision.sig'),
        ],
        { input: statement },
      );
    const good = verify(sig!.statement);
    expect(good.status, good.stderr.toString()).toBe(0);
    expect(verify(sig!.statement.replace('"approve"', '"deny"')).status).not.toBe(0);
    expect(JSON.parse(sig!.statement)).toMatchObject({
      v: 'policy-gate/decision/v1',
      command_id: id,
      decision: 'approve',
      reviewer: 'alice',
    });
  });

  it('a signed deny decides at once, with its reason', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    expect(
      (
        await applyDecision(await signed(s, id, 'deny', 'alice', 'alice', 'publishes to the registry'), {
          policy,
          store: s,
          clock,
        })
      ).kind,
    ).toBe('decided');
    expect(await s.command(id)).toMatchObject({
      decision: 'denied',
      decided_by: 'alice',
      reason: 'publishes to the registry',
    });
  });

  describe('refusals are recorded and change nothing', () => {
    const cases: [string, (s: AuditStore, id: string) => Promise<DecisionSubmission>, RegExp][] = [
      ['unsigned', async (s, id) => ({ ...(await signed(s, id, 'approve', 'alice')), signature: null }), /not signed/],
      ['unknown-reviewer', (s, id) => signed(s, id, 'approve', 'mallory', 'mallory'), /"mallory" is not a reviewer/],
      [
        'wrong-key',
        (s, id) => signed(s, id, 'approve', 'alice', 'bob'),
        /signed with key SHA256:\S+, not the reviewer's key/,
      ],
      [
        'bad-signature',
        async (s, id) => {
          const sub = await signed(s, id, 'deny', 'alice', 'alice', 'no');
          return { ...sub, statement: sub.statement.replace('"deny"', '"approve"').replace('"no"', '"ok"') };
        },
        /does not match/,
      ],
      [
        'malformed',
        async (s, id) => ({ ...(await signed(s, id, 'approve', 'alice')), statement: '{"approve":true}' }),
        /exactly the fields/,
      ],
      [
        'wrong-command',
        async (s, id) => {
          const sub = await signed(s, id, 'approve', 'alice');
          const other = (await s.commands()).find((r) => r.command_id !== id)!.command_id;
          return { ...sub, command_id: other };
        },
        /another submission/,
      ],
      ['no-role', (s, id) => signed(s, id, 'approve', 'carol'), /none of the roles/],
    ];
    for (const [code, make, message] of cases) {
      it(code, async () => {
        const policy = await reviewPolicy([ALICE, BOB, CAROL], { 'review.roles': ['reviewer'] });
        const s = store();
        const clock = fakeClock();
        await pending(policy, s, clock, { command: 'npm publish --tag other' });
        const id = await pending(policy, s, clock);
        const sub = await make(s, id);
        const outcome = await applyDecision(sub, { policy, store: s, clock });
        expect(outcome).toMatchObject({ kind: 'refused', code });
        expect((outcome as { message: string }).message).toMatch(message);
        const target = sub.command_id;
        expect((await s.command(target))!.decision).toBe('pending');
        const [refused] = await refusals(s, target);
        expect(refused).toMatchObject({
          refusal: code,
          statement: sub.statement,
          signature: sub.signature,
          submitted_from: FROM,
        });
      });
    }
  });

  it('self-approval is refused: as the submitting agent, or through an agent that acts for the reviewer; others may approve', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const clock = fakeClock();
    const own = await pending(policy, s, clock, { agent: 'bob' });
    const viaBot = await pending(policy, s, clock, { command: 'npm publish --dry-run=false', agent: 'bob-bot' });
    const typed = await pending(policy, s, clock, { command: 'npm publish --tag x', submitter: 'bob' });
    for (const id of [own, viaBot, typed]) {
      const outcome = await applyDecision(await signed(s, id, 'approve', 'bob'), { policy, store: s, clock });
      expect(outcome).toMatchObject({ kind: 'refused', code: 'self-approval' });
      expect(await refusals(s, id)).toHaveLength(1);
    }
    // denying one's own command is always allowed; another reviewer can approve
    expect(
      (await applyDecision(await signed(s, own, 'deny', 'bob', 'bob', 'changed my mind'), { policy, store: s, clock }))
        .kind,
    ).toBe('decided');
    expect(await applyDecision(await signed(s, viaBot, 'approve', 'alice'), { policy, store: s, clock })).toMatchObject(
      {
        kind: 'decided',
        record: { decided_by: 'alice' },
      },
    );
  });

  it('separate_accounts refuses an approval signed from the account that submitted', async () => {
    const policy = await reviewPolicy([ALICE], { 'review.separate_accounts': true });
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock, { submitter: FROM.user });
    expect(await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock })).toMatchObject({
      kind: 'refused',
      code: 'same-account',
    });
    const elsewhere = { ...(await signed(s, id, 'approve', 'alice')), from: { user: 'alice', host: FROM.host } };
    expect((await applyDecision(elsewhere, { policy, store: s, clock })).kind).toBe('decided');
  });

  it('a decided command takes no further decision', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    await applyDecision(await signed(s, id, 'deny', 'alice', 'alice', 'no'), { policy, store: s, clock });
    expect(await applyDecision(await signed(s, id, 'approve', 'bob'), { policy, store: s, clock })).toMatchObject({
      kind: 'refused',
      code: 'already-decided',
    });
    expect(await s.command(id)).toMatchObject({ decision: 'denied', decided_by: 'alice' });
  });

  it('past its deadline the command times out instead, and the late decision is refused', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    clock.advance(61_000);
    expect(await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock })).toMatchObject({
      kind: 'refused',
      code: 'expired',
    });
    expect(await s.command(id)).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
  });
});

describe('two-person rule', () => {
  it('needs distinct reviewers: the first approval is counted, a repeat is refused, the second decides with both signatures', async () => {
    const policy = await reviewPolicy([ALICE, BOB], { 'review.approvals': { medium: 2 } });
    const s = store();
    const clock = fakeClock();
    const low = await pending(policy, s, clock, { command: 'python3 scripts/migrate.py' });
    expect((await s.command(low))!.risk_level).toBe('low');
    expect((await applyDecision(await signed(s, low, 'approve', 'alice'), { policy, store: s, clock })).kind).toBe(
      'decided',
    );

    const id = await pending(policy, s, clock, { command: 'git push --force origin main' });
    expect(['medium', 'high']).toContain((await s.command(id))!.risk_level);
    expect(await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock })).toMatchObject({
      kind: 'counted',
      approvals: 1,
      needed: 2,
    });
    expect((await s.command(id))!.decision).toBe('pending');
    expect(await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock })).toMatchObject({
      kind: 'refused',
      code: 'duplicate-reviewer',
    });
    const votes = (await s.commandEvents(id)).filter((e) => e.type === 'REVIEWED');
    expect(votes.map((v) => (v.body as ReviewedBody).reviewer)).toEqual(['alice']);
    expect((await applyDecision(await signed(s, id, 'approve', 'bob'), { policy, store: s, clock })).kind).toBe(
      'decided',
    );
    const r = (await s.command(id))!;
    expect(r).toMatchObject({ decision: 'approved', decided_by: 'alice+bob' });
    expect(r.signatures.map((x) => x.reviewer)).toEqual(['alice', 'bob']);
  });

  it('one deny is enough, even after an approval', async () => {
    const policy = await reviewPolicy([ALICE, BOB], { 'review.approvals': { low: 2 } });
    const s = store();
    const clock = fakeClock();
    const id = await pending(policy, s, clock);
    expect((await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock })).kind).toBe(
      'counted',
    );
    expect(
      (await applyDecision(await signed(s, id, 'deny', 'bob', 'bob', 'not today'), { policy, store: s, clock })).kind,
    ).toBe('decided');
    expect(await s.command(id)).toMatchObject({ decision: 'denied', decided_by: 'bob' });
  });
});

describe('waiting: timeouts per level and escalation, on an injected clock', () => {
  it('times out after the level’s timeout: timed_out, decided_by timeout, latency = the timeout', async () => {
    const policy = await reviewPolicy([ALICE], { 'timeouts.low': 7, 'timeouts.default': 60 });
    const s = store();
    const clock = fakeClock();
    const { record } = await check({ command: 'npm publish', wait: true }, { policy, store: s, clock });
    expect(record.risk_level).toBe('low');
    expect(record).toMatchObject({ decision: 'timed_out', decided_by: 'timeout', review_latency_ms: 7000 });
    expect(record.deadline).toBe(new Date(NOON.getTime() + 7000).toISOString());
    expect(Date.parse(record.decided_at!)).toBe(NOON.getTime() + 7000);
  });

  it('a decision made while check waits is what check returns', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const clock = fakeClock();
    let id = '';
    const sleep = clock.sleep;
    let decided = false;
    clock.sleep = async (ms) => {
      await sleep(ms);
      if (!decided && clock.monotonic() > 5_000 + 2_000) {
        decided = true;
        id = (await s.commands({ decision: 'pending' }))[0]!.command_id;
        await applyDecision(await signed(s, id, 'approve', 'alice'), { policy, store: s, clock });
      }
    };
    const { record } = await check({ command: 'npm publish', wait: true }, { policy, store: s, clock, pollMs: 100 });
    expect(record).toMatchObject({ command_id: id, decision: 'approved', decided_by: 'alice' });
    expect(record.review_latency_ms).toBeGreaterThanOrEqual(2000);
    expect(record.review_latency_ms).toBeLessThan(2200);
  });

  it('escalates once after after_seconds: the notifier gets the pending record on stdin, and ESCALATED is recorded', async () => {
    const out = join(tempDir(), 'notified.json');
    const notifier = [
      process.execPath,
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(out)}, require('fs').readFileSync(0))`,
    ];
    const policy = await reviewPolicy([ALICE], { 'review.escalation': { after_seconds: 3, command: notifier } });
    const s = store();
    const clock = fakeClock();
    const { record } = await check(
      { command: 'npm publish', wait: true, session: 's-esc', timeoutMs: 10_000 },
      { policy, store: s, clock },
    );
    expect(record.decision).toBe('timed_out');
    const escalated = (await s.commandEvents(record.command_id)).filter((e) => e.type === 'ESCALATED');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]!.body).toMatchObject({ after_seconds: 3, notifier, error: null });
    for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 50));
    const sent = JSON.parse(readFileSync(out, 'utf8'));
    expect(sent).toMatchObject({
      event: 'pending',
      command_id: record.command_id,
      command: 'npm publish',
      decision: 'pending',
      session_id: 's-esc',
    });
  });

  it('a notifier that cannot start is recorded with its error, and changes nothing', async () => {
    const policy = await reviewPolicy([ALICE], {
      'review.escalation': { after_seconds: 1, command: ['/nonexistent/notify'] },
    });
    const s = store();
    const clock = fakeClock();
    const warnings: string[] = [];
    const { record } = await check(
      { command: 'npm publish', wait: true, timeoutMs: 2_000 },
      { policy, store: s, clock, warn: (m) => warnings.push(m) },
    );
    expect(record.decision).toBe('timed_out');
    const [escalated] = (await s.commandEvents(record.command_id)).filter((e) => e.type === 'ESCALATED');
    expect((escalated!.body as { error: string }).error).toMatch(/nonexistent/);
    expect(warnings.join()).toMatch(/escalation/);
  });
});
