/**
 * Off-hours in the reviewers' time zone: gate.yaml's context.off_hours.timezone when it names one
 * (checked when the policy loads), else the system's (TZ, /etc/localtime), else UTC. The local
 * time judged and its zone are in the record and in the human output.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { assess, loadPolicy, GateError, type Policy } from '../engine/index.js';
import { judgedTimeZone, workingHours } from '../engine/risk/context.js';
import { POLICY_DIR, runBin, runCli, tempDir } from './helpers.js';

/** The shipped policy with context.off_hours.timezone set to `zone`, or removed when undefined. */
function policyWithZone(zone: string | undefined): string {
  const dir = join(tempDir('policy-gate-tz-'), 'policies');
  cpSync(POLICY_DIR, dir, { recursive: true });
  const doc = parseDocument(readFileSync(join(dir, 'gate.yaml'), 'utf8'));
  if (zone === undefined) doc.deleteIn(['context', 'off_hours', 'timezone']);
  else doc.setIn(['context', 'off_hours', 'timezone'], zone);
  writeFileSync(join(dir, 'gate.yaml'), doc.toString());
  return dir;
}

const hours: Parameters<typeof workingHours>[1] = {
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  start: '08:00',
  end: '19:00',
  score: 15,
};
/** Wednesday 22:10 UTC: 23:10 in Paris (winter), 07:10 on Thursday in Tokyo. */
const EVENING = new Date('2026-01-07T22:10:00.250Z');

describe('the zone off-hours are judged in', () => {
  it('gate.yaml names it, else the system zone, else UTC; a zone the runtime does not know is UTC', () => {
    expect(judgedTimeZone('Europe/Paris', 'Asia/Tokyo')).toBe('Europe/Paris');
    expect(judgedTimeZone(undefined, 'Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(judgedTimeZone(undefined, 'europe/paris')).toBe('Europe/Paris');
    expect(judgedTimeZone(undefined, 'Etc/UTC')).toBe('Etc/UTC');
    expect(judgedTimeZone(undefined, 'Mars/Olympus_Mons')).toBe('UTC');
    // a POSIX offset in TZ means the opposite sign to ours: Node ignores it, so do we
    expect(judgedTimeZone(undefined, '+02:00')).toBe('UTC');
    expect(judgedTimeZone(undefined, undefined)).toBe('UTC');
  });

  it('the local time is ISO 8601 with the offset of the zone at that instant, to the second', () => {
    expect(workingHours(EVENING, { ...hours, timezone: 'Europe/Paris' })).toEqual({
      local_time: '2026-01-07T23:10:00+01:00',
      time_zone: 'Europe/Paris',
      off_hours: true,
    });
    // summer time, and the system zone used when gate.yaml names none
    expect(workingHours(new Date('2026-07-01T10:00:00Z'), hours, 'Europe/Paris')).toEqual({
      local_time: '2026-07-01T12:00:00+02:00',
      time_zone: 'Europe/Paris',
      off_hours: false,
    });
    expect(workingHours(EVENING, hours, 'Asia/Tokyo')).toMatchObject({
      local_time: '2026-01-08T07:10:00+09:00',
      off_hours: true,
    });
    expect(workingHours(EVENING, hours, 'America/New_York')).toMatchObject({
      local_time: '2026-01-07T17:10:00-05:00',
      off_hours: false,
    });
    expect(workingHours(EVENING, { ...hours, timezone: '+05:30' }, 'Asia/Tokyo')).toMatchObject({
      local_time: '2026-01-08T03:40:00+05:30',
      time_zone: '+05:30',
    });
    expect(workingHours(EVENING, hours).local_time).toBe('2026-01-07T22:10:00+00:00');
  });
});

describe('a policy without a zone', () => {
  let policy: Policy;
  beforeAll(async () => {
    policy = await loadPolicy(policyWithZone(undefined), { cacheDir: tempDir() });
  }, 120_000);

  it('judges in the system zone it is given: the assessment says when and where', () => {
    const paris = assess('git status', policy, { now: EVENING, history: null, timeZone: 'Europe/Paris' });
    expect(paris).toMatchObject({ local_time: '2026-01-07T23:10:00+01:00', time_zone: 'Europe/Paris' });
    expect(paris.signals.find((s) => s.rule_id === 'context.off-hours')?.message).toBe(
      'submitted off-hours (wed 23:10 Europe/Paris)',
    );
    const ny = assess('git status', policy, { now: EVENING, history: null, timeZone: 'America/New_York' });
    expect(ny.signals).toEqual([]);
    expect(ny.time_zone).toBe('America/New_York');
    // no system zone given (examples, policy tests): UTC, the same on every machine
    expect(assess('git status', policy, { now: EVENING, history: null })).toMatchObject({
      local_time: '2026-01-07T22:10:00+00:00',
      time_zone: 'UTC',
    });
  });
});

describe('a zone gate.yaml names', () => {
  it('beats the system zone', async () => {
    const policy = await loadPolicy(policyWithZone('Asia/Tokyo'), { cacheDir: tempDir() });
    const a = assess('git status', policy, { now: EVENING, history: null, timeZone: 'America/New_York' });
    expect(a).toMatchObject({ local_time: '2026-01-08T07:10:00+09:00', time_zone: 'Asia/Tokyo' });
    expect(a.signals.map((s) => s.rule_id)).toEqual(['context.off-hours']);
  }, 120_000);

  it('must be one the runtime knows: an unknown zone is an invalid policy, in one line, and nothing runs', async () => {
    const dir = policyWithZone('Europe/Pariss');
    const err = await loadPolicy(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GateError);
    expect(err).toMatchObject({ code: 'policy-invalid', location: { file: 'gate.yaml' } });
    const line =
      readFileSync(join(dir, 'gate.yaml'), 'utf8')
        .split('\n')
        .findIndex((l) => /timezone:/.test(l)) + 1;
    expect((err as GateError).oneLine).toBe(
      `gate.yaml:${line}: context.off_hours.timezone: unknown time zone "Europe/Pariss" ` +
        '(an IANA name such as Europe/Paris, UTC or an offset such as +02:00; leave it out for the system zone)',
    );
    const check = await runCli(['check', '--policy', dir, '--', 'git status']);
    expect(check.code).toBe(2);
    expect(check.stderr.split('\n')[0]).toMatch(
      /^policy-gate: error: gate\.yaml:\d+: context\.off_hours\.timezone: unknown/,
    );
    const lint = await runCli(['policy', 'lint', '--policy', dir]);
    expect(lint.code).toBe(2);
    expect(lint.stdout + lint.stderr).toMatch(/PG108.*unknown time zone/);
  });
});

describe('the record and the human output', () => {
  let dir: string;
  beforeAll(() => {
    dir = policyWithZone(undefined);
  });

  it('check records the local time and zone it judged (TZ from the environment it is given)', async () => {
    const cwd = tempDir();
    const env = { TZ: 'Europe/Paris', POLICY_GATE_POLICY: dir };
    const r = await runCli(['check', '--json', '--now', EVENING.toISOString(), '--', 'git status'], { cwd, env });
    const record = JSON.parse(r.stdout);
    expect(record).toMatchObject({ local_time: '2026-01-07T23:10:00+01:00', time_zone: 'Europe/Paris' });
    const listed = JSON.parse((await runCli(['audit', '--json'], { cwd, env })).stdout);
    expect(listed[0]).toMatchObject({ local_time: record.local_time, time_zone: 'Europe/Paris' });
    const human = await runCli(['check', '--now', EVENING.toISOString(), '--', 'git status'], { cwd, env });
    expect(human.stdout).toContain('local time 2026-01-07 23:10 Europe/Paris (UTC+01:00) · off-hours');
    const status = await runCli(['status', record.command_id], { cwd, env });
    expect(status.stdout).toContain('local time 2026-01-07 23:10 Europe/Paris (UTC+01:00) · off-hours');
    const assessed = await runCli(['assess', '--json', '--now', '2026-01-07T12:00:00Z', '--', 'ls'], { cwd, env });
    expect(JSON.parse(assessed.stdout)).toMatchObject({
      local_time: '2026-01-07T13:00:00+01:00',
      time_zone: 'Europe/Paris',
    });
    // the trail still verifies with the new fields in it
    expect((await runCli(['verify'], { cwd, env })).code).toBe(0);
  });

  it('a policy without working hours records neither, and shows no local time', async () => {
    const plain = join(tempDir('policy-gate-tz-'), 'policies');
    cpSync(POLICY_DIR, plain, { recursive: true });
    const doc = parseDocument(readFileSync(join(plain, 'gate.yaml'), 'utf8'));
    doc.deleteIn(['context', 'off_hours']);
    writeFileSync(join(plain, 'gate.yaml'), doc.toString());
    const r = await runCli(['check', '--json', '--policy', plain, '--', 'git status']);
    expect(JSON.parse(r.stdout)).toMatchObject({ local_time: null, time_zone: null });
    const human = await runCli(['check', '--policy', plain, '--', 'git status']);
    expect(human.stdout).not.toContain('local time');
  }, 120_000);

  it('the bin judges in the zone of its process: TZ as Node reads it', async () => {
    const judged = async (tz: string): Promise<{ local_time: string; time_zone: string }> => {
      const r = await runBin(['check', '--json', '--now', EVENING.toISOString(), '--', 'git status'], {
        env: { TZ: tz, POLICY_GATE_POLICY: dir },
      });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    expect(await judged('Asia/Tokyo')).toMatchObject({
      local_time: '2026-01-08T07:10:00+09:00',
      time_zone: 'Asia/Tokyo',
    });
    expect(await judged(':America/New_York')).toMatchObject({ time_zone: 'America/New_York' });
    // a zone Node does not know runs its clock on UTC: so does the gate
    expect(await judged('Nowhere/Special')).toMatchObject({
      local_time: '2026-01-07T22:10:00+00:00',
      time_zone: 'UTC',
    });
  }, 120_000);
});
