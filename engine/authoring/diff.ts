/**
 * `policy diff`: what a change to the policy does, for the reviewer of a pull request. The
 * change is classified like a version bump — major when it loosens the gate (a rule removed, a
 * score lowered, `waivable` turned on, a whitelist rule broadened, a threshold raised), minor
 * when it adds or tightens, patch when only documentation changes — and the test cases and the
 * recent audit trail are replayed through both versions, listing every decision that changes.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { CommandRecord } from '../model/events.js';
import { stableJson } from '../util/canonical.js';
import { GateError } from '../util/errors.js';
import { assess, type Assessment } from '../gate/assess.js';
import { LEVELS, levelRank, strictness, type Level, type WouldDecide } from '../model/verdict.js';
import type { CompiledWhitelistRule } from '../whitelist/coverage.js';
import { filesAtRef, findRepository } from '../util/git.js';
import { matchArgs, samplePattern, staticWords } from '../whitelist/pattern.js';
import { EXAMPLE_TIME } from '../gate/examples.js';
import { loadPolicy } from '../gate/load-policy.js';
import { contentsOnly, type CompiledRule, type Policy } from '../gate/policy.js';
import { approvalsNeeded } from '../gate/review.js';
import { readPolicyTests } from './tests.js';
import { type GateDefinition, type WhitelistRuleDefinition } from '../policy/types.js';

export type ChangeLevel = 'major' | 'minor' | 'patch';
const LEVEL_RANK: Record<ChangeLevel | 'none', number> = { none: 0, patch: 1, minor: 2, major: 3 };

export interface PolicyChange {
  readonly level: ChangeLevel;
  readonly kind: 'rule' | 'whitelist' | 'gate' | 'reviewer' | 'set' | 'tests' | 'replay';
  readonly id: string;
  readonly change: string;
  readonly message: string;
}

export interface DecisionChange {
  readonly source: 'case' | 'audit';
  /** `tests/x.yaml#3` for a case, the command id for a recorded command. */
  readonly ref: string;
  readonly command: string;
  readonly before: { decision: WouldDecide; level: Level; score: number; decided_by: string | null };
  readonly after: { decision: WouldDecide; level: Level; score: number; decided_by: string | null };
  /** looser: the head version is more permissive for this command. */
  readonly direction: 'looser' | 'stricter';
}

export interface PolicyDiff {
  readonly base: { ref: string; revision: string };
  readonly head: { ref: string; revision: string };
  readonly level: ChangeLevel | 'none';
  readonly changes: readonly PolicyChange[];
  readonly replayed: { readonly cases: number; readonly audit: number };
  readonly decisions: readonly DecisionChange[];
}

export interface DiffOptions {
  /** The policy directory (in a Git work tree when refs are given). */
  readonly policyDir: string;
  /** A commit-ish, or a directory holding a policy. */
  readonly base: string;
  /** A commit-ish or a directory; the working tree when omitted. */
  readonly head?: string | undefined;
  /** Where relative policy directories given as BASE or HEAD are resolved. */
  readonly cwd: string;
  /** Recorded commands to replay (most recent last). */
  readonly history?: readonly CommandRecord[];
}

// -------------------------------------------------------------------------------------------------
// loading a version

interface Version {
  readonly ref: string;
  readonly policy: Policy;
}

function isPolicyDir(path: string): boolean {
  try {
    return statSync(join(path, 'gate.yaml')).isFile();
  } catch {
    return false;
  }
}

async function loadVersion(policyDir: string, ref: string | undefined, cwd: string, scratch: string): Promise<Version> {
  const load = async (dir: string, label: string): Promise<Version> => {
    try {
      // provenance and review are about the merged state; a diff compares contents
      const policy = await loadPolicy(dir, { examples: 'report', git: false });
      return { ref: label, policy: { ...contentsOnly(policy), dir } };
    } catch (err) {
      if (err instanceof GateError)
        throw new GateError(err.code, `${label}: ${err.message}`, { location: err.location, hint: err.hint });
      throw err;
    }
  };
  if (ref === undefined) return load(policyDir, 'working tree');
  if (isPolicyDir(resolve(cwd, ref))) return load(resolve(cwd, ref), ref);
  const repo = findRepository(policyDir);
  if (!repo)
    throw new GateError(
      'usage',
      `${policyDir} is not in a Git work tree, so ${JSON.stringify(ref)} cannot be read from it`,
      { hint: 'give two policy directories instead' },
    );
  const files = filesAtRef(repo, ref, relative(repo.root, policyDir));
  if (files.length === 0)
    throw new GateError('not-found', `${ref} has no policy at ${relative(repo.root, policyDir) || '.'}`);
  const dir = mkdtempSync(join(scratch, 'v-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  return load(dir, ref);
}

// -------------------------------------------------------------------------------------------------
// classifying the change

const same = (a: unknown, b: unknown): boolean => stableJson(a) === stableJson(b);

/** Two versions of a list matched by id: gone, in both, new. */
function pairById<T extends { readonly id: string }>(
  base: readonly T[],
  head: readonly T[],
): { removed: T[]; kept: [T, T][]; added: T[] } {
  const before = new Map(base.map((x) => [x.id, x]));
  const after = new Map(head.map((x) => [x.id, x]));
  return {
    removed: base.filter((x) => !after.has(x.id)),
    kept: base.filter((x) => after.has(x.id)).map((x) => [x, after.get(x.id)!]),
    added: head.filter((x) => !before.has(x.id)),
  };
}

function ruleChanges(base: Policy, head: Policy): PolicyChange[] {
  const { removed, kept, added } = pairById(base.rules, head.rules);
  const change = (level: ChangeLevel, r: CompiledRule, kind: string, message: string): PolicyChange => ({
    level,
    kind: 'rule',
    id: r.id,
    change: kind,
    message,
  });
  return [
    ...removed.map((b) => change('major', b, 'removed', `rule removed: ${b.description}`)),
    ...kept.flatMap(([b, h]) => compareRule(b, h)),
    ...added.map((h) =>
      change('minor', h, 'added', `rule added (${h.category}, score ${h.score}${h.waivable ? '' : ', non-waivable'})`),
    ),
  ];
}

function compareRule(b: CompiledRule, h: CompiledRule): PolicyChange[] {
  const out: PolicyChange[] = [];
  const add = (level: ChangeLevel, change: string, message: string): void =>
    void out.push({ level, kind: 'rule', id: b.id, change, message });
  if (h.score < b.score) add('major', 'score-lowered', `score lowered ${b.score} → ${h.score}`);
  if (h.score > b.score) add('minor', 'score-raised', `score raised ${b.score} → ${h.score}`);
  if (h.waivable && !b.waivable)
    add('major', 'waivable-on', 'waivable turned on: whitelist rules may now cover commands it flags');
  if (!h.waivable && b.waivable)
    add('minor', 'waivable-off', 'waivable turned off: no whitelist rule may cover commands it flags');
  if (h.category !== b.category) add('minor', 'category', `category ${b.category} → ${h.category}`);
  if (!same(b.definition.match, h.definition.match))
    add('minor', 'match', 'match changed (the replay shows what it changes)');
  const docs = (['description', 'message', 'examples', 'references'] as const).filter(
    (k) => !same(b.definition[k], h.definition[k]),
  );
  if (docs.length > 0) add('patch', 'docs', `${docs.join(', ')} changed`);
  return out;
}

function setChanges(base: Policy, head: Policy): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const kind of ['segments', 'words'] as const) {
    const b = base.source.sets[kind] ?? {};
    const h = head.source.sets[kind] ?? {};
    for (const name of new Set([...Object.keys(b), ...Object.keys(h)])) {
      const id = `${kind}:${name}`;
      if (!(name in h)) out.push({ level: 'minor', kind: 'set', id, change: 'removed', message: `set removed` });
      else if (!(name in b)) out.push({ level: 'minor', kind: 'set', id, change: 'added', message: `set added` });
      else if (!same(b[name], h[name]))
        out.push({
          level: 'minor',
          kind: 'set',
          id,
          change: 'changed',
          message: 'set changed: rules that use it match differently (the replay shows what it changes)',
        });
    }
  }
  return out;
}

const asList = (p: WhitelistRuleDefinition['pattern']): string[] => (Array.isArray(p) ? p : [p]);

/** Argument lists compared per changed pattern; beyond this a change counts as broadening. */
const SAMPLE_LIMIT = 20_000;

/** Ways in which the head rule covers more than the base rule; empty when it covers no more. */
export function broadening(b: CompiledWhitelistRule, h: CompiledWhitelistRule): string[] {
  const reasons: string[] = [];
  const bd = b.definition;
  const hd = h.definition;
  // patterns: every argv the new patterns match must be matched by an old one
  for (const p of h.patterns) {
    if (b.patterns.some((o) => o.source.trim() === p.source.trim())) continue; // unchanged
    const olds = b.patterns.filter((o) => p.programs.every((name) => o.programs.includes(name)));
    if (olds.length === 0) {
      reasons.push(`pattern ${JSON.stringify(p.source)} covers a program the rule did not (${p.programs.join('|')})`);
      continue;
    }
    const sampled = samplePattern(p, SAMPLE_LIMIT + 1);
    if (sampled.length > SAMPLE_LIMIT) {
      reasons.push(
        `pattern ${JSON.stringify(p.source)} has too many forms to compare with the old one: review it as broadened`,
      );
      continue;
    }
    const escaped = sampled.find((words) => !olds.some((o) => matchArgs(o, staticWords(words))));
    if (escaped)
      reasons.push(`pattern ${JSON.stringify(p.source)} now covers \`${[p.program, ...escaped].join(' ')}\``);
  }
  const grew = (name: string, before: readonly string[] | undefined, after: readonly string[] | undefined): void => {
    const extra = (after ?? []).filter((x) => !(before ?? []).includes(x));
    if (extra.length > 0) reasons.push(`${name} now allows ${extra.join(', ')}`);
  };
  grew('wrappers', bd.wrappers, hd.wrappers);
  grew('env', bd.env, hd.env);
  grew('pipes', bd.pipes, hd.pipes);
  grew(
    'redirects',
    bd.redirects?.map((r) => `${r.op} ${r.target}`),
    hd.redirects?.map((r) => `${r.op} ${r.target}`),
  );
  for (const scope of ['repos', 'cwd', 'agents', 'sessions'] as const) {
    if (bd[scope] && !hd[scope]) reasons.push(`scope ${scope} removed: it now applies everywhere`);
    else if (bd[scope] && hd[scope]) grew(`scope ${scope}`, bd[scope], hd[scope]);
  }
  if (bd.max_risk !== undefined && (hd.max_risk === undefined || hd.max_risk > bd.max_risk))
    reasons.push(`max_risk raised ${bd.max_risk} → ${hd.max_risk ?? 'none'}`);
  if (bd.expires !== undefined && (hd.expires === undefined || hd.expires > bd.expires))
    reasons.push(`expiry extended ${bd.expires} → ${hd.expires ?? 'never'}`);
  return reasons;
}

function whitelistChanges(base: Policy, head: Policy): PolicyChange[] {
  const out: PolicyChange[] = [];
  const add = (level: ChangeLevel, id: string, change: string, message: string): void =>
    void out.push({ level, kind: 'whitelist', id, change, message });
  const { removed, kept, added } = pairById(base.whitelist, head.whitelist);
  for (const b of removed)
    add('minor', b.id, 'removed', 'whitelist rule removed: what it covered goes to review again');
  for (const [b, h] of kept) {
    const broader = broadening(b, h);
    for (const reason of broader) add('major', b.id, 'broadened', reason);
    const bd = b.definition;
    const hd = h.definition;
    const scopeKeys = [
      'pattern',
      'wrappers',
      'env',
      'pipes',
      'redirects',
      'repos',
      'cwd',
      'agents',
      'sessions',
      'max_risk',
      'expires',
    ] as const;
    const narrowed = scopeKeys.filter(
      (k) => !same(k === 'pattern' ? asList(bd.pattern) : bd[k], k === 'pattern' ? asList(hd.pattern) : hd[k]),
    );
    if (broader.length === 0 && narrowed.length > 0)
      add('minor', b.id, 'narrowed', `${narrowed.join(', ')} changed, covering no more than before`);
    const docs = (['owner', 'reason', 'examples'] as const).filter((k) => !same(bd[k], hd[k]));
    if (docs.length > 0) add('patch', b.id, 'docs', `${docs.join(', ')} changed`);
  }
  for (const h of added)
    add('minor', h.id, 'added', `whitelist rule added: ${asList(h.definition.pattern).join(' | ')}`);
  return out;
}

/** Gate settings, each with the direction in which it loosens the gate. */
const GATE_KNOBS: readonly { path: string; get: (g: GateDefinition) => number | undefined; looser: 'up' | 'down' }[] = [
  { path: 'levels.medium', get: (g) => g.levels.medium, looser: 'up' },
  { path: 'levels.high', get: (g) => g.levels.high, looser: 'up' },
  { path: 'levels.critical', get: (g) => g.levels.critical, looser: 'up' },
  { path: 'deny_at', get: (g) => LEVELS.indexOf(g.deny_at), looser: 'up' },
  { path: 'whitelist_ceiling', get: (g) => g.whitelist_ceiling, looser: 'up' },
  ...LEVELS.map((s) => ({
    path: `severity_scores.${s}`,
    get: (g: GateDefinition) => g.severity_scores[s],
    looser: 'down' as const,
  })),
  { path: 'damping', get: (g) => g.damping, looser: 'down' },
  { path: 'context.off_hours.score', get: (g) => g.context.off_hours?.score ?? 0, looser: 'down' },
  { path: 'context.burst.score', get: (g) => g.context.burst?.score ?? 0, looser: 'down' },
  { path: 'context.burst.max_commands', get: (g) => g.context.burst?.max_commands, looser: 'up' },
  { path: 'context.novelty.score', get: (g) => g.context.novelty?.score ?? 0, looser: 'down' },
];

function gateChanges(
  base: Policy,
  head: Policy,
  baseGitops: GateDefinition['gitops'],
  headGitops: GateDefinition['gitops'],
): PolicyChange[] {
  const out: PolicyChange[] = [];
  const b = base.gate;
  const h = head.gate;
  const add = (level: ChangeLevel, id: string, change: string, message: string): void =>
    void out.push({ level, kind: 'gate', id, change, message });
  const show = (path: string, v: number | undefined): string =>
    v === undefined ? 'unset' : path === 'deny_at' ? (LEVELS[v] ?? String(v)) : String(v);
  for (const k of GATE_KNOBS) {
    const bv = k.get(b);
    const hv = k.get(h);
    if (bv === hv) continue;
    const up = hv === undefined ? true : bv === undefined ? false : hv > bv;
    const looser = (up && k.looser === 'up') || (!up && k.looser === 'down');
    add(
      looser ? 'major' : 'minor',
      k.path,
      looser ? 'loosened' : 'tightened',
      `${k.path} ${show(k.path, bv)} → ${show(k.path, hv)}`,
    );
  }
  if (baseGitops?.require_reviewed === true && headGitops?.require_reviewed !== true)
    add(
      'major',
      'gitops.require_reviewed',
      'loosened',
      'require_reviewed turned off: unreviewed whitelist rules would be used',
    );
  if (baseGitops?.require_signed === true && headGitops?.require_signed !== true)
    add('major', 'gitops.require_signed', 'loosened', 'require_signed turned off');
  if (baseGitops?.protected_ref !== undefined && baseGitops.protected_ref !== headGitops?.protected_ref)
    add(
      'major',
      'gitops.protected_ref',
      'changed',
      `protected_ref ${baseGitops?.protected_ref ?? 'unset'} → ${headGitops?.protected_ref ?? 'unset'}`,
    );
  if (headGitops?.require_reviewed === true && baseGitops?.require_reviewed !== true)
    add('minor', 'gitops.require_reviewed', 'tightened', 'require_reviewed turned on');
  if (headGitops?.require_signed === true && baseGitops?.require_signed !== true)
    add('minor', 'gitops.require_signed', 'tightened', 'require_signed turned on');
  if (baseGitops?.protected_ref === undefined && headGitops?.protected_ref !== undefined)
    add('minor', 'gitops.protected_ref', 'tightened', `protected_ref set to ${headGitops.protected_ref}`);
  if (!same(b.timeouts, h.timeouts))
    add('minor', 'timeouts', 'changed', `timeouts ${stableJson(b.timeouts)} → ${stableJson(h.timeouts)}`);
  if (
    !same(
      b.context.off_hours && { ...b.context.off_hours, score: 0 },
      h.context.off_hours && { ...h.context.off_hours, score: 0 },
    )
  ) {
    add('minor', 'context.off_hours', 'changed', 'working hours changed');
  }
  if (b.context.burst?.window_seconds !== h.context.burst?.window_seconds)
    add(
      'minor',
      'context.burst.window_seconds',
      'changed',
      `burst window ${b.context.burst?.window_seconds ?? 'unset'} → ${h.context.burst?.window_seconds ?? 'unset'} s`,
    );
  return out;
}

/**
 * Who may approve, and how many must: adding a reviewer or a key, widening roles, unbinding an
 * agent from its reviewer or needing fewer approvals grants the power to run commands (major).
 */
function reviewChanges(base: Policy, head: Policy): PolicyChange[] {
  const out: PolicyChange[] = [];
  const add = (level: ChangeLevel, kind: 'gate' | 'reviewer', id: string, change: string, message: string): void =>
    void out.push({ level, kind, id, change, message });
  const keyOf = (key: string): string => key.trim().split(/\s+/)[1] ?? key;
  const before = new Map(base.source.reviewers.map((r) => [r.id, r]));
  const after = new Map(head.source.reviewers.map((r) => [r.id, r]));
  for (const [id, r] of after) {
    const o = before.get(id);
    if (!o) {
      add(
        'major',
        'reviewer',
        id,
        'added',
        `reviewer added with roles ${r.roles.join(', ')}: their signed decisions now count`,
      );
      continue;
    }
    if (keyOf(o.key) !== keyOf(r.key))
      add('major', 'reviewer', id, 'key-changed', 'signing key changed: decisions signed with the new key now count');
    const rolesAdded = r.roles.filter((x) => !o.roles.includes(x));
    const rolesRemoved = o.roles.filter((x) => !r.roles.includes(x));
    if (rolesAdded.length) add('major', 'reviewer', id, 'roles-added', `roles added: ${rolesAdded.join(', ')}`);
    if (rolesRemoved.length) add('minor', 'reviewer', id, 'roles-removed', `roles removed: ${rolesRemoved.join(', ')}`);
    const unbound = (o.agents ?? []).filter((a) => !(r.agents ?? []).includes(a));
    const bound = (r.agents ?? []).filter((a) => !(o.agents ?? []).includes(a));
    if (unbound.length)
      add(
        'major',
        'reviewer',
        id,
        'agents-removed',
        `no longer acting for ${id}: ${unbound.join(', ')} (${id} could approve their commands)`,
      );
    if (bound.length) add('minor', 'reviewer', id, 'agents-added', `now acting for ${id}: ${bound.join(', ')}`);
    if (o.name !== r.name) add('patch', 'reviewer', id, 'renamed', `name ${o.name} → ${r.name}`);
  }
  for (const id of before.keys())
    if (!after.has(id)) add('minor', 'reviewer', id, 'removed', 'reviewer removed: their decisions no longer count');

  for (const level of LEVELS) {
    const b = approvalsNeeded(base, level);
    const h = approvalsNeeded(head, level);
    if (b !== h)
      add(
        h < b ? 'major' : 'minor',
        'gate',
        `review.approvals.${level}`,
        h < b ? 'loosened' : 'tightened',
        `approvals needed at ${level}: ${b} → ${h}`,
      );
  }
  const br = base.gate.review?.roles;
  const hr = head.gate.review?.roles;
  if (br && !hr)
    add('major', 'gate', 'review.roles', 'loosened', 'review.roles removed: any listed reviewer may decide');
  else if (!br && hr) add('minor', 'gate', 'review.roles', 'tightened', `review.roles set: ${hr.join(', ')}`);
  else if (br && hr) {
    const wider = hr.filter((x) => !br.includes(x));
    const narrower = br.filter((x) => !hr.includes(x));
    if (wider.length)
      add('major', 'gate', 'review.roles', 'loosened', `roles that may decide added: ${wider.join(', ')}`);
    if (narrower.length)
      add('minor', 'gate', 'review.roles', 'tightened', `roles that may decide removed: ${narrower.join(', ')}`);
  }
  const bs = base.gate.review?.separate_accounts === true;
  const hs = head.gate.review?.separate_accounts === true;
  if (bs !== hs)
    add(
      bs ? 'major' : 'minor',
      'gate',
      'review.separate_accounts',
      bs ? 'loosened' : 'tightened',
      `separate_accounts turned ${hs ? 'on' : 'off'}`,
    );
  const bt = base.gate.review?.token_decisions === true;
  const ht = head.gate.review?.token_decisions === true;
  if (bt !== ht)
    add(
      ht ? 'major' : 'minor',
      'gate',
      'review.token_decisions',
      ht ? 'loosened' : 'tightened',
      ht ? 'token_decisions turned on: unsigned decisions by API token are accepted' : 'token_decisions turned off',
    );
  if (!same(base.gate.review?.escalation, head.gate.review?.escalation))
    add('patch', 'gate', 'review.escalation', 'changed', 'escalation changed');
  return out;
}

// -------------------------------------------------------------------------------------------------
// replay

interface ReplayInput {
  readonly source: 'case' | 'audit';
  readonly ref: string;
  readonly command: string;
  readonly now: Date;
  readonly cwd?: string | undefined;
  readonly agent?: string | undefined;
  readonly session?: string | undefined;
}

function outcome(a: Assessment): DecisionChange['before'] {
  return { decision: a.would_decide, level: a.risk_level, score: a.risk_score, decided_by: a.decided_by };
}

function replay(
  inputs: readonly ReplayInput[],
  base: Policy,
  head: Policy,
): { decisions: DecisionChange[]; weakened: Map<string, number> } {
  const decisions: DecisionChange[] = [];
  // detection rules that stop firing on a command that the head version treats more leniently
  const weakened = new Map<string, number>();
  for (const input of inputs) {
    const ctx = { now: input.now, cwd: input.cwd, agent: input.agent, session: input.session, history: null };
    const a = assess(input.command, base, ctx);
    const b = assess(input.command, head, ctx);
    const decisionMoved = a.would_decide !== b.would_decide;
    if (!decisionMoved && a.risk_level === b.risk_level) continue;
    const looser = decisionMoved
      ? strictness(b.would_decide) < strictness(a.would_decide)
      : levelRank(b.risk_level) < levelRank(a.risk_level);
    decisions.push({
      source: input.source,
      ref: input.ref,
      command: input.command,
      before: outcome(a),
      after: outcome(b),
      direction: looser ? 'looser' : 'stricter',
    });
    if (looser) {
      const still = new Set(b.signals.map((s) => s.rule_id));
      for (const s of a.signals)
        if (s.category !== 'context' && !still.has(s.rule_id))
          weakened.set(s.rule_id, (weakened.get(s.rule_id) ?? 0) + 1);
    }
  }
  return { decisions, weakened };
}

// -------------------------------------------------------------------------------------------------

export async function diffPolicies(options: DiffOptions): Promise<PolicyDiff> {
  const scratch = mkdtempSync(join(tmpdir(), 'policy-gate-diff-'));
  try {
    const base = await loadVersion(options.policyDir, options.base, options.cwd, scratch);
    const head = await loadVersion(options.policyDir, options.head, options.cwd, scratch);
    // the gitops section is stripped for the replay; compare it from the sources
    const changes: PolicyChange[] = [
      ...ruleChanges(base.policy, head.policy),
      ...setChanges(base.policy, head.policy),
      ...whitelistChanges(base.policy, head.policy),
      ...gateChanges(base.policy, head.policy, base.policy.source.gate.gitops, head.policy.source.gate.gitops),
      ...reviewChanges(base.policy, head.policy),
    ];

    const baseCases = await readPolicyTests(base.policy.dir);
    const headCases = await readPolicyTests(head.policy.dir);
    if (!same(baseCases, headCases))
      changes.push({
        level: 'patch',
        kind: 'tests',
        id: 'tests',
        change: 'changed',
        message: `test cases changed (${baseCases.length} → ${headCases.length})`,
      });
    const inputs: ReplayInput[] = [];
    const seen = new Set<string>();
    for (const c of [...headCases, ...baseCases]) {
      const key = `${c.cmd}\0${c.now ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inputs.push({
        source: 'case',
        ref: `${c.file}#${c.index + 1}`,
        command: c.cmd,
        now: c.now ? new Date(c.now) : EXAMPLE_TIME,
      });
    }
    const cases = inputs.length;
    for (const r of options.history ?? []) {
      inputs.push({
        source: 'audit',
        ref: r.command_id,
        command: r.command,
        now: new Date(r.submitted_at),
        cwd: r.cwd ?? undefined,
        agent: r.agent ?? undefined,
        session: r.session_id ?? undefined,
      });
    }
    const { decisions, weakened } = replay(inputs, base.policy, head.policy);
    for (const [id, n] of weakened) {
      changes.push({
        level: 'major',
        kind: 'replay',
        id,
        change: 'detection-weakened',
        message: `no longer fires on ${n} replayed command(s) that the change lets through more easily`,
      });
    }
    const level = changes.reduce<ChangeLevel | 'none'>(
      (top, c) => (LEVEL_RANK[c.level] > LEVEL_RANK[top] ? c.level : top),
      'none',
    );
    changes.sort((x, y) => LEVEL_RANK[y.level] - LEVEL_RANK[x.level]);
    return {
      base: { ref: base.ref, revision: base.policy.contentRevision },
      head: { ref: head.ref, revision: head.policy.contentRevision },
      level,
      changes,
      replayed: { cases, audit: inputs.length - cases },
      decisions,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function levelAtLeast(level: ChangeLevel | 'none', threshold: ChangeLevel): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[threshold];
}
