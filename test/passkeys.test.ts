/**
 * Passkeys (WebAuthn) and token decisions, with real crypto: a software authenticator signs
 * the hash of the decision statement; the gate verifies it against the passkey registered in
 * the trail, and verify re-checks it from the trail alone.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyDecision,
  check,
  decisionStatement,
  GateError,
  openSqliteStore,
  parseCoseKey,
  passkeysOf,
  policyProvider,
  registerPasskey,
  signWithSshKeygen,
  statementChallenge,
  submittedEvent,
  systemClock,
  verifyAssertion,
  verifyTrail,
  type AuditStore,
  type DecisionSubmission,
  type Policy,
  type RawEvent,
  type ReviewRefusedBody,
  type SubmittedProof,
} from '../engine/index.js';
import { chainHash, leafHash } from '../engine/audit/chain.js';
import { canonicalJson, type Canonical } from '../engine/util/canonical.js';
import { tempDir } from './helpers.js';
import { ALICE, BOB, keyFor, reviewPolicy, reviewPolicyDir } from './review-fixture.js';
import { SoftPasskey, AT, UP, type AssertionOptions } from './webauthn-authenticator.js';
import { loadPolicy } from '../engine/index.js';

const FROM = { user: 'reviewer-account', host: 'review-host' };
const clock = systemClock();

function store(): AuditStore {
  return openSqliteStore(join(tempDir(), 'audit.db'));
}

async function pending(policy: Policy, s: AuditStore, agent?: string): Promise<string> {
  const { record } = await check(
    { command: 'npm publish', wait: false, ...(agent ? { agent } : {}) },
    { policy, store: s, clock },
  );
  expect(record.decision).toBe('pending');
  return record.command_id;
}

async function register(policy: Policy, s: AuditStore, reviewer: string, key: SoftPasskey): Promise<void> {
  await registerPasskey(
    {
      reviewer,
      credential_id: key.credentialId,
      public_key: key.cose,
      alg: key.alg,
      rp_id: key.rpId,
      origin: key.origin,
      registered_by: { identity: reviewer, via: 'token' },
      transports: ['internal'],
      user_verified: true,
    },
    { policy, store: s, clock },
  );
}

async function statementFor(s: AuditStore, id: string, reviewer: string, decision: 'approve' | 'deny' = 'approve') {
  const { leaf } = await submittedEvent(s, id);
  return decisionStatement({
    command_id: id,
    submitted_leaf: leaf,
    decision,
    reviewer,
    reason: null,
    signed_at: clock.wall().toISOString(),
  });
}

/** A decision signed by `key` (over `signedStatement` when given: a statement other than the one submitted). */
async function withPasskey(
  s: AuditStore,
  id: string,
  reviewer: string,
  key: SoftPasskey,
  options: AssertionOptions & { decision?: 'approve' | 'deny'; signedStatement?: string; credentialId?: string } = {},
): Promise<DecisionSubmission> {
  const statement = await statementFor(s, id, reviewer, options.decision);
  const assertion = key.assert(statementChallenge(options.signedStatement ?? statement), options);
  const proof: SubmittedProof = {
    kind: 'webauthn',
    credential_id: options.credentialId ?? key.credentialId,
    ...assertion,
  };
  return { command_id: id, statement, signature: null, proof, from: FROM };
}

async function refusals(s: AuditStore, id: string): Promise<ReviewRefusedBody[]> {
  return (await s.commandEvents(id)).filter((e) => e.type === 'REVIEW_REFUSED').map((e) => e.body as ReviewRefusedBody);
}

async function rawEvents(s: AuditStore): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  for await (const r of s.rawEvents())
    out.push({ ...r, bytes: Buffer.from(r.bytes), leaf: Buffer.from(r.leaf), chain: Buffer.from(r.chain) });
  return out;
}

function verifyRows(rows: RawEvent[]) {
  return verifyTrail({ events: () => rows, checkpoints: [], keys: [] });
}

/** Change one event's body and re-hash the chain from it, as someone rewriting the store would. */
function rewrite(rows: RawEvent[], i: number, change: (b: Record<string, unknown>) => void): RawEvent[] {
  const out = [...rows];
  const b = JSON.parse(out[i]!.bytes.toString('utf8')) as Record<string, unknown>;
  change(b);
  out[i] = { ...out[i]!, bytes: Buffer.from(canonicalJson(b as Canonical), 'utf8') };
  let previous = i === 0 ? Buffer.alloc(32) : out[i - 1]!.chain;
  for (let j = i; j < out.length; j++) {
    const leaf = leafHash(out[j]!.bytes);
    out[j] = { ...out[j]!, leaf, chain: chainHash(previous, leaf) };
    previous = out[j]!.chain;
  }
  return out;
}

const flip = (b64u: string, at: number): string => {
  const bytes = Buffer.from(b64u, 'base64url');
  bytes[at % bytes.length]! ^= 1;
  return bytes.toString('base64url');
};

describe('the offline WebAuthn verifier', () => {
  it('verifies ES256 and Ed25519 assertions and names what is wrong with a bent one', () => {
    for (const alg of [-7, -8] as const) {
      const key = new SoftPasskey(alg);
      expect(parseCoseKey(key.cose).algId).toBe(alg);
      const challenge = statementChallenge('{"a":1}');
      const expected = { challenge, origin: key.origin, rpId: key.rpId, requireUserVerification: true };
      const check = (a: ReturnType<SoftPasskey['assert']>, e = expected) =>
        verifyAssertion(
          {
            publicKey: key.cose.toString('base64url'),
            authenticatorData: a.authenticator_data,
            clientDataJSON: a.client_data_json,
            signature: a.signature,
          },
          e,
        );
      expect(check(key.assert(challenge))).toEqual({ ok: true, alg: alg === -7 ? 'ES256' : 'EdDSA' });
      const a = key.assert(challenge);
      expect(check({ ...a, signature: flip(a.signature, 20) })).toMatchObject({
        ok: false,
        reason: /signature does not verify/,
      });
      expect(check({ ...a, client_data_json: flip(a.client_data_json, 5) })).toMatchObject({ ok: false });
      expect(check(key.assert(statementChallenge('{"a":2}')))).toMatchObject({ reason: /another challenge/ });
      expect(check(key.assert(challenge, { origin: 'http://localhost:9999' }))).toMatchObject({
        reason: /not at http:\/\/localhost:7420/,
      });
      expect(check(key.assert(challenge, { rpId: 'example.com' }))).toMatchObject({ reason: /RP ID localhost/ });
      expect(check(key.assert(challenge, { flags: UP }))).toMatchObject({ reason: /did not verify the user/ });
      expect(
        check(key.assert(challenge, { flags: UP }), { ...expected, requireUserVerification: false }),
      ).toMatchObject({ ok: true });
      expect(check(key.assert(challenge, { flags: 0x04 }))).toMatchObject({ reason: /present/ });
      expect(check(key.assert(challenge, { flags: 0x05 | AT }))).toMatchObject({ reason: /attested credential data/ });
      expect(check(key.assert(challenge, { type: 'webauthn.create' }))).toMatchObject({ reason: /not webauthn.get/ });
      expect(check(key.assert(challenge, { crossOrigin: true }))).toMatchObject({ reason: /cross-origin/ });
    }
  });

  it('refuses COSE keys of other algorithms and malformed CBOR', () => {
    expect(() => parseCoseKey(Buffer.from([0xa3, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01]))).toThrow(/no parameter -2/);
    expect(() => parseCoseKey(Buffer.from([0xa2, 0x01, 0x02, 0x03, 0x38, 0x22]))).toThrow(/unsupported COSE key/); // ES384
    expect(() => parseCoseKey(Buffer.from([0xa1, 0x01]))).toThrow(/truncated/);
    expect(() => parseCoseKey(Buffer.from([0xa0, 0x00]))).toThrow(/trailing/);
  });
});

describe('passkey registration', () => {
  it('is recorded in the trail for a reviewer in reviewers.yaml; the latest registration of a credential wins', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const key = new SoftPasskey(-7);
    await register(policy, s, 'alice', key);
    await register(policy, s, 'alice', key);
    const listed = await passkeysOf(s, 'alice');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      reviewer: 'alice',
      credential_id: key.credentialId,
      alg: -7,
      rp_id: 'localhost',
      origin: key.origin,
      user_verified: true,
      registered_by: { identity: 'alice', via: 'token' },
    });
    expect(await passkeysOf(s, 'bob')).toEqual([]);
    const events = await s.gateEvents('PASSKEY_REGISTERED');
    expect(events.map((e) => e.command_id)).toEqual([null, null]);
    expect((await verifyRows(await rawEvents(s))).ok).toBe(true);
  });

  it('refuses an unknown reviewer, another reviewer’s credential id, an unusable key or a mismatched alg', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const key = new SoftPasskey(-8);
    await expect(register(policy, s, 'mallory', key)).rejects.toThrow(/"mallory" is not a reviewer/);
    await register(policy, s, 'alice', key);
    await expect(register(policy, s, 'bob', key)).rejects.toThrow(/registered to alice/);
    const base = {
      reviewer: 'bob',
      credential_id: 'abc',
      rp_id: 'localhost',
      origin: 'http://localhost:7420',
      registered_by: { identity: 'bob', via: 'token' },
      user_verified: true,
    };
    await expect(
      registerPasskey({ ...base, public_key: Buffer.from([0xa0]), alg: -7 }, { policy, store: s, clock }),
    ).rejects.toThrow(GateError);
    await expect(
      registerPasskey({ ...base, public_key: key.cose, alg: -7 }, { policy, store: s, clock }),
    ).rejects.toThrow(/EdDSA/);
    await expect(
      registerPasskey({ ...base, public_key: key.cose, alg: -8, rp_id: 'example.com' }, { policy, store: s, clock }),
    ).rejects.toThrow(/RP ID/);
    expect(await passkeysOf(s, 'bob')).toEqual([]);
  });
});

describe('decisions signed with a passkey', () => {
  it('approve: the record shows proof webauthn; verify re-checks it from the trail and fails once it is changed', async () => {
    const dir = reviewPolicyDir([ALICE, BOB]);
    const policy = await loadPolicy(dir, { cacheDir: tempDir('policy-gate-cache-'), git: false });
    const s = store();
    const key = new SoftPasskey(-7);
    await register(policy, s, 'alice', key);
    const id = await pending(policy, s);
    const outcome = await applyDecision(await withPasskey(s, id, 'alice', key), { policy, store: s, clock });
    expect(outcome.kind).toBe('decided');
    const record = (await s.command(id))!;
    expect(record).toMatchObject({ decision: 'approved', decided_by: 'alice' });
    expect(record.signatures[0]).toMatchObject({
      reviewer: 'alice',
      proof: 'webauthn',
      credential_id: key.credentialId,
    });

    const rows = await rawEvents(s);
    const provider = await (await policyProvider(dir))([policy.revision]);
    const result = await verifyTrail({ events: () => rows, checkpoints: [], keys: [], policyAt: provider });
    expect(result).toMatchObject({ ok: true, proofs: { ssh: 0, webauthn: 1, token: 0 } });

    const decided = rows.findIndex((r) => r.type === 'DECIDED');
    for (const field of ['authenticator_data', 'client_data_json', 'signature'] as const) {
      const tampered = rewrite(rows, decided, (b) => {
        const sig = (b.signatures as Record<string, string>[])[0]!;
        sig[field] = flip(sig[field]!, 7);
      });
      const r = await verifyRows(tampered);
      expect(r.ok, field).toBe(false);
      expect(r.failure).toMatchObject({ check: 'authority', message: /passkey signature on .* does not verify/ });
    }
    // the registration changed to another key, or removed: the decision no longer verifies
    const registered = rows.findIndex((r) => r.type === 'PASSKEY_REGISTERED');
    const other = new SoftPasskey(-7);
    expect(
      (await verifyRows(rewrite(rows, registered, (b) => (b.public_key = other.cose.toString('base64url'))))).ok,
    ).toBe(false);
    expect((await verifyRows(rewrite(rows, registered, (b) => (b.origin = 'http://localhost:9999')))).ok).toBe(false);
    expect((await verifyRows(rewrite(rows, registered, (b) => (b.reviewer = 'bob')))).failure?.message).toMatch(
      /with bob's passkey/,
    );
  });

  it('Ed25519 passkeys sign denies too', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const key = new SoftPasskey(-8);
    await register(policy, s, 'alice', key);
    const id = await pending(policy, s);
    const outcome = await applyDecision(await withPasskey(s, id, 'alice', key, { decision: 'deny' }), {
      policy,
      store: s,
      clock,
    });
    expect(outcome.kind).toBe('decided');
    expect((await s.command(id))!.decision).toBe('denied');
    expect((await verifyRows(await rawEvents(s))).ok).toBe(true);
  });

  it('refuses, and records, a wrong statement, origin, RP ID, an unregistered or another reviewer’s credential, no UV', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const alice = new SoftPasskey(-7);
    const bob = new SoftPasskey(-8);
    await register(policy, s, 'alice', alice);
    await register(policy, s, 'bob', bob);
    const id = await pending(policy, s);
    const other = await statementFor(s, id, 'alice', 'deny');
    const cases: [DecisionSubmission, string, RegExp][] = [
      [await withPasskey(s, id, 'alice', alice, { signedStatement: other }), 'bad-signature', /another challenge/],
      [
        await withPasskey(s, id, 'alice', alice, { origin: 'http://localhost:9999' }),
        'bad-signature',
        /localhost:9999/,
      ],
      [await withPasskey(s, id, 'alice', alice, { rpId: 'evil.example' }), 'bad-signature', /RP ID/],
      [await withPasskey(s, id, 'alice', new SoftPasskey(-7)), 'unknown-credential', /no passkey .* is registered/],
      [await withPasskey(s, id, 'alice', bob), 'wrong-key', /registered to bob/],
      [await withPasskey(s, id, 'alice', alice, { flags: UP }), 'bad-signature', /did not verify the user/],
    ];
    for (const [submission, code, message] of cases) {
      const outcome = await applyDecision(submission, { policy, store: s, clock });
      expect(outcome).toMatchObject({ kind: 'refused', code, message });
    }
    const refused = await refusals(s, id);
    expect(refused.map((r) => r.refusal)).toEqual(cases.map((c) => c[1]));
    expect(refused[0]!.proof).toMatchObject({ kind: 'webauthn', credential_id: alice.credentialId });
    expect((await s.command(id))!.decision).toBe('pending');
    expect((await verifyRows(await rawEvents(s))).ok).toBe(true);
  });

  it('self-approval is refused with a passkey as with a key', async () => {
    const policy = await reviewPolicy([ALICE, BOB]);
    const s = store();
    const key = new SoftPasskey(-7);
    await register(policy, s, 'bob', key);
    const id = await pending(policy, s, 'bob-bot');
    const outcome = await applyDecision(await withPasskey(s, id, 'bob', key), { policy, store: s, clock });
    expect(outcome).toMatchObject({ kind: 'refused', code: 'self-approval' });
  });

  it('two-person rule: one SSH approval and one passkey approval decide together; verify checks both', async () => {
    const policy = await reviewPolicy([ALICE, BOB], { 'review.approvals': { low: 2 } });
    const s = store();
    const key = new SoftPasskey(-8);
    await register(policy, s, 'bob', key);
    const id = await pending(policy, s);
    const statement = await statementFor(s, id, 'alice');
    const ssh = {
      command_id: id,
      statement,
      signature: signWithSshKeygen(Buffer.from(statement), keyFor('alice').file),
      from: FROM,
    };
    expect((await applyDecision(ssh, { policy, store: s, clock })).kind).toBe('counted');
    const second = await applyDecision(await withPasskey(s, id, 'bob', key), { policy, store: s, clock });
    expect(second.kind).toBe('decided');
    const record = (await s.command(id))!;
    expect(record.decided_by).toBe('alice+bob');
    expect(record.signatures.map((x) => x.proof)).toEqual(['ssh', 'webauthn']);
    expect(await verifyRows(await rawEvents(s))).toMatchObject({ ok: true, proofs: { ssh: 1, webauthn: 1, token: 0 } });
  });
});

describe('token decisions', () => {
  const token = async (s: AuditStore, id: string, reviewer: string, owner = reviewer): Promise<DecisionSubmission> => ({
    command_id: id,
    statement: await statementFor(s, id, reviewer),
    signature: null,
    proof: { kind: 'token', token_id: 'tok-1', reviewer: owner },
    from: FROM,
  });

  it('are refused as unsigned unless gate.yaml allows them', async () => {
    const policy = await reviewPolicy([ALICE]);
    const s = store();
    const id = await pending(policy, s);
    const outcome = await applyDecision(await token(s, id, 'alice'), { policy, store: s, clock });
    expect(outcome).toMatchObject({ kind: 'refused', code: 'unsigned', message: /token_decisions/ });
    expect((await refusals(s, id))[0]!.proof).toEqual({ kind: 'token', token_id: 'tok-1', reviewer: 'alice' });
  });

  it('with review.token_decisions: accepted with proof token; the token must be the reviewer’s; verify counts and warns', async () => {
    const dir = reviewPolicyDir([ALICE, BOB], { 'review.token_decisions': true });
    const policy = await loadPolicy(dir, { cacheDir: tempDir('policy-gate-cache-'), git: false });
    const s = store();
    const id = await pending(policy, s);
    expect(await applyDecision(await token(s, id, 'alice', 'bob'), { policy, store: s, clock })).toMatchObject({
      code: 'wrong-key',
    });
    expect((await applyDecision(await token(s, id, 'alice'), { policy, store: s, clock })).kind).toBe('decided');
    expect((await s.command(id))!.signatures[0]).toEqual({
      reviewer: 'alice',
      proof: 'token',
      token_id: 'tok-1',
      statement: expect.any(String),
      submitted_from: FROM,
    });
    const rows = await rawEvents(s);
    const provider = await (await policyProvider(dir))([policy.revision]);
    const result = await verifyTrail({ events: () => rows, checkpoints: [], keys: [], policyAt: provider });
    expect(result).toMatchObject({ ok: true, proofs: { ssh: 0, webauthn: 0, token: 1 } });
    expect(result.warnings.join('\n')).toMatch(/1 decision\(s\) rest on an API token alone/);
    // against a policy that does not allow tokens, the same trail fails
    const strict = await reviewPolicy([ALICE, BOB]);
    const denied = await verifyTrail({
      events: () => rows,
      checkpoints: [],
      keys: [],
      policyAt: () => ({
        reviewers: new Map([['alice', { fingerprint: 'x', agents: [] }]]),
        whitelist: new Set(),
        source: strict.dir,
      }),
    });
    expect(denied.failure).toMatchObject({ check: 'authority', message: /rests on a token alone/ });
  });

  it('self-approval is refused with a token too', async () => {
    const policy = await reviewPolicy([ALICE, BOB], { 'review.token_decisions': true });
    const s = store();
    const id = await pending(policy, s, 'bob-bot');
    expect(await applyDecision(await token(s, id, 'bob'), { policy, store: s, clock })).toMatchObject({
      code: 'self-approval',
    });
  });
});
