/**
 * `whitelist propose`: from a command a human approved, the narrowest whitelist rule(s) that
 * would let it run without asking: the exact argv, placeholders only where asked. Over-broad
 * rules are refused, and a replay shows which recorded commands the rule would have let
 * through (above all those that were denied or timed out).
 */
import type { CommandRecord } from '../model/events.js';
import { GateError } from '../util/errors.js';
import { assess } from '../gate/assess.js';
import { contentsOnly, type Policy } from '../gate/policy.js';
import { coversDangerous } from './lint.js';
import type { WhitelistRuleDefinition } from '../policy/types.js';
import type { Redirect, Script, Segment } from '../shell/ir.js';
import { parseScript } from '../shell/parse.js';
import { shellJoin } from '../util/quote.js';
import { INTERPRETERS, SHELLS, WRAPPERS } from '../shell/registry.js';
import { compileWhitelistRule, ruleCoversSegment, type CompiledWhitelistRule } from '../whitelist/coverage.js';
import { patternLiteral, PLACEHOLDER_TYPES, type PlaceholderType } from '../whitelist/pattern.js';
import { strictness, type CommandState } from '../model/verdict.js';

/** Programs that delete, upload, download or execute: never whitelisted with no argument fixed. */
const CAN_HARM = new Set([
  'rm',
  'rmdir',
  'shred',
  'unlink',
  'mv',
  'cp',
  'dd',
  'truncate',
  'chmod',
  'chown',
  'chgrp',
  'ln',
  'install',
  'curl',
  'wget',
  'scp',
  'rsync',
  'sftp',
  'ftp',
  'nc',
  'ncat',
  'netcat',
  'socat',
  'ssh',
  'telnet',
  'docker',
  'podman',
  'kubectl',
  'helm',
  'terraform',
  'find',
  'git',
  'npm',
  'npx',
  'pnpm',
  'yarn',
  'pip',
  'pip3',
  'gem',
  'cargo',
  'go',
  'make',
  'kill',
  'pkill',
  'killall',
  'systemctl',
  'service',
  'crontab',
  'at',
  'aws',
  'gcloud',
  'az',
  'gsutil',
  'mysql',
  'psql',
  'sqlite3',
  'redis-cli',
  'tee',
  'sed',
  'awk',
  'perl',
  'tar',
  'zip',
  'unzip',
]);
const NEVER = new Set([
  'eval',
  'exec',
  'source',
  '.',
  'command',
  'builtin',
  'xargs',
  'parallel',
  'watch',
  'sudo',
  'doas',
  'su',
  'env',
  'nohup',
  'time',
]);

export interface ProposeOptions {
  /** `ARG=TYPE`: the ARG-th argument (1-based) or the argument equal to ARG becomes `<TYPE>`. */
  readonly generalize?: readonly string[];
  readonly owner: string;
  readonly reason?: string | undefined;
  readonly now?: Date;
}

export interface ProposedRule {
  readonly definition: WhitelistRuleDefinition;
  /** The segment of the command the rule covers. */
  readonly segment: number;
}

export interface ReplayHit {
  readonly command_id: string;
  readonly decision: CommandState;
  readonly submitted_at: string;
  readonly command: string;
  readonly rules: readonly string[];
}

export interface Proposal {
  readonly rules: readonly ProposedRule[];
  /** Recorded commands, not whitelisted then, that the proposed rules would have whitelisted. */
  readonly replay: readonly ReplayHit[];
}

function refuse(message: string): never {
  throw new GateError('usage', `refusing to propose: ${message}`);
}

function slug(words: readonly string[]): string {
  const s = words
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'rule';
}

function parseGeneralize(list: readonly string[] | undefined): Map<string, PlaceholderType> {
  const out = new Map<string, PlaceholderType>();
  for (const g of list ?? []) {
    const eq = g.lastIndexOf('=');
    if (eq <= 0)
      throw new GateError(
        'usage',
        `--generalize expects ARG=TYPE (an argument position or value, then a placeholder type), got ${JSON.stringify(g)}`,
      );
    const type = g.slice(eq + 1).split(':')[0] as PlaceholderType;
    if (!PLACEHOLDER_TYPES.includes(type))
      throw new GateError(
        'usage',
        `--generalize: unknown placeholder type "${type}" (one of ${PLACEHOLDER_TYPES.join(', ')})`,
      );
    out.set(g.slice(0, eq), g.slice(eq + 1) as PlaceholderType);
  }
  return out;
}

function redirectAllowance(r: Redirect): NonNullable<WhitelistRuleDefinition['redirects']>[number] | null {
  if (!r.target || r.target.dynamic || r.target.glob) return null;
  const t = r.target.text;
  if (t === '/dev/null' || /^\d+$|^-$/.test(t)) return null; // harmless without naming
  if (t.startsWith('/') || t.startsWith('~') || t.split('/').includes('..'))
    refuse(`the redirect to ${t} leaves the working tree`);
  const fd = r.fd === null || r.fd === 1 ? '' : String(r.fd);
  const op = `${fd}${r.op}`;
  if (!['>', '>>', '<', '2>', '2>>', '&>'].includes(op)) refuse(`the redirect ${op} cannot be named in a rule`);
  return { op: op as '>', target: t };
}

function ruleFor(
  s: Segment,
  script: Script,
  generalize: Map<string, PlaceholderType>,
  options: ProposeOptions,
  used: Set<string>,
): WhitelistRuleDefinition {
  if (s.program === null) refuse('the program is only known at run time');
  if (s.privileged)
    refuse(
      `\`${s.argv.map((w) => w.text).join(' ')}\` runs with other privileges (sudo, su, doas): review it each time`,
    );
  if (s.wrappers.length > 0)
    refuse(
      `\`${s.wrappers.map((w) => w.name).join(' ')}\` wraps the command: a rule never covers ${s.wrappers[0]!.name}`,
    );
  if (s.assignments.length > 0)
    refuse(`the command sets ${s.assignments.map((a) => a.name).join(', ')}: a rule never covers env assignments`);
  if (SHELLS.has(s.program) || INTERPRETERS[s.program] || s.payload)
    refuse(`${s.program} is a shell or interpreter: it runs any code it is given`);
  if (NEVER.has(s.program) || WRAPPERS[s.program]) refuse(`${s.program} runs other commands`);
  const args = s.argv.slice(1);
  const elements: string[] = [];
  let literals = 0;
  args.forEach((w, i) => {
    const type = generalize.get(String(i + 1)) ?? generalize.get(w.text);
    if (type) {
      elements.push(`<${type}>`);
      return;
    }
    if (w.dynamic || w.glob)
      refuse(`argument ${i + 1} (${JSON.stringify(w.text)}) is only known at run time; no rule can cover it`);
    elements.push(patternLiteral(w.text));
    literals++;
  });
  if (literals === 0 && CAN_HARM.has(s.program))
    refuse(`${s.program} can delete, upload or execute: keep at least one argument fixed`);
  const pipes = new Set<'in' | 'out'>();
  for (const f of script.flows) {
    if (f.kind !== 'pipe' && f.kind !== 'process-substitution') continue;
    if (f.to === s.id) pipes.add('in');
    if (f.from === s.id) pipes.add('out');
  }
  const redirects = s.redirects.map(redirectAllowance).filter((r): r is NonNullable<typeof r> => r !== null);
  const base = `${slug([s.program])}.${slug(args.filter((_w, i) => !elements[i]!.startsWith('<')).map((w) => w.text)) || 'any'}`;
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  const exact = shellJoin(s.argv.map((w) => w.text));
  return {
    id,
    owner: options.owner,
    reason: options.reason ?? `approved by a reviewer: ${exact}`,
    pattern: [s.path ?? s.program, ...elements].join(' '),
    ...(pipes.size > 0 ? { pipes: [...pipes].sort() } : {}),
    ...(redirects.length > 0 ? { redirects } : {}),
    examples: { match: [exact], no_match: [`${exact} --unexpected-extra-argument`] },
  };
}

export function propose(
  record: CommandRecord,
  reviewed: Policy,
  history: readonly CommandRecord[],
  options: ProposeOptions,
): Proposal {
  // a proposal is judged on contents: rules under review count as what they will be once merged
  const policy = contentsOnly(reviewed);
  if (record.decision !== 'approved') {
    refuse(
      `command ${record.command_id} was ${record.decision}` +
        `${record.decided_by ? ` by ${record.decided_by}` : ''}, not approved by a reviewer`,
    );
  }
  const now = options.now ?? new Date();
  const script = parseScript(record.command);
  if (script.issues.length > 0)
    refuse(`the command could not be fully understood (${script.issues[0]!.code}: ${script.issues[0]!.message})`);
  const current = assess(record.command, policy, { now, cwd: record.cwd ?? undefined, history: null });
  const generalize = parseGeneralize(options.generalize);
  const used = new Set([...policy.whitelist.map((w) => w.id), ...policy.rules.map((r) => r.id)]);
  const proposed: ProposedRule[] = [];
  const compiled: CompiledWhitelistRule[] = [];
  script.segments.forEach((s, i) => {
    if (current.segments[i]?.covered_by) return;
    const definition = ruleFor(s, script, generalize, options, used);
    const rule = compileWhitelistRule({ ...definition, file: '(proposed)', line: 0 });
    if (!ruleCoversSegment(rule, s, script, { now: now.getTime(), cwd: record.cwd ?? undefined })) {
      refuse(`the rule ${definition.id} would not cover \`${shellJoin(s.argv.map((w) => w.text))}\``);
    }
    const dangerous = coversDangerous(rule, policy);
    if (dangerous)
      refuse(
        `the rule ${definition.id} would also cover ${JSON.stringify(dangerous)}, which a non-waivable rule flags`,
      );
    proposed.push({ definition, segment: s.id });
    compiled.push(rule);
  });
  if (proposed.length === 0) refuse('every part of the command is already covered by a whitelist rule');

  const extended: Policy = { ...policy, whitelist: [...policy.whitelist, ...compiled] };
  const ids = new Set(compiled.map((r) => r.id));
  const replay: ReplayHit[] = [];
  for (const r of history) {
    if (r.command_id === record.command_id || r.decision === 'whitelisted') continue;
    const a = assess(r.command, extended, {
      now: new Date(r.submitted_at),
      cwd: r.cwd ?? undefined,
      agent: r.agent ?? undefined,
      session: r.session_id ?? undefined,
      history: null,
    });
    if (a.would_decide === 'whitelisted' && a.coverage.rules.some((id) => ids.has(id))) {
      replay.push({
        command_id: r.command_id,
        decision: r.decision,
        submitted_at: r.submitted_at,
        command: r.command,
        rules: a.coverage.rules.filter((id) => ids.has(id)),
      });
    }
  }
  // strictest first: what the new rule would have let through that a reviewer stopped
  replay.sort((a, b) => strictness(b.decision) - strictness(a.decision) || (a.submitted_at < b.submitted_at ? -1 : 1));
  return { rules: proposed, replay };
}
