/**
 * `policy-gate hook claude|codex|gemini`: the gate behind an agent's pre-tool hook. It reads the
 * agent's JSON payload on standard input, checks a shell call as `check` does (recorded with
 * the agent's session, working directory and stated intent), passes other tools through, and
 * answers in the agent's own format (cli/hooks/agents.ts).
 *
 * Every path answers explicitly, before the agent gives up on the hook (an agent whose hook
 * times out runs the command): the reviewer's wait is capped below the agent's hook timeout,
 * the store's lock wait too, and a watchdog denies if anything else runs late. A malformed
 * payload, an error, an unknown shell shape: deny, with the reason.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openGate, whyNotWhitelisted, type CommandRecord, type Locations } from '../engine/index.js';
import { DEFAULT_MAX_COMMAND_BYTES } from '../engine/index.js';
import { GateError, storeError, describeCause } from '../engine/util/errors.js';
import { allowsRun } from '../engine/model/verdict.js';
import { COMMON_OPTIONS, parseSeconds, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations, systemTimeZone } from './context.js';
import { agentNamed, payloadError, type Agent, type HookAnswer, type ShellCall } from './hooks/agents.js';
import { commandFromText } from './input.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate hook claude|codex|gemini [options]

The gate behind an agent's pre-tool hook (Claude Code PreToolUse, Codex PreToolUse, Gemini CLI
BeforeTool). Reads the hook's JSON payload on standard input; a shell call is checked and
recorded as \`check\` records it (agent, session_id, cwd, the model's description as intent),
any other tool passes through (no output, exit 0: the agent's own permissions apply).

Answers, in the agent's format:
  allowed (whitelisted or approved)  claude: permissionDecision "allow" · codex: silent exit 0 ·
                                     gemini: {"decision":"allow"}
  denied, timed out, or any error    the agent's deny JSON on stdout, the reason on stderr, exit 2

A held command waits for a reviewer (policy-gate review) until its deadline, capped safely
below the agent's hook timeout, then is denied as timed out. Agents *run* the command when a
hook crashes or is not found: run the hook through \`policy-gate install\`, which wraps it so
that every unexpected exit blocks (… || exit 2), and check it with \`policy-gate doctor\`.

Options:
  --agent-timeout SECS  the hook timeout the agent enforces (default: the agent's own default,
                        600 s for Claude Code and Codex, 60 s for Gemini CLI)
  --timeout SECS        how long to wait for a reviewer (default: gate.yaml; always capped
                        below --agent-timeout)
  --server unix:PATH|URL  ask a resident gate (policy-gate serve) instead of checking in
                        this process (env POLICY_GATE_SERVER); unreachable: the command is denied
  --token TOKEN         the agent's API token for --server over HTTP (env POLICY_GATE_TOKEN)
  --store PATH          audit store (default .policy-gate/audit.db; env POLICY_GATE_STORE)
  --policy DIR          policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  -h, --help            show this help

Exit codes: 0 allowed or not a shell tool · 2 denied, timed out, malformed payload or error
(the agent blocks the call)

Example:
  echo '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status"},
         "session_id":"s1","cwd":"'"$PWD"'"}' | policy-gate hook claude
`;

const OPTIONS = {
  store: COMMON_OPTIONS.store,
  policy: COMMON_OPTIONS.policy,
  'agent-timeout': { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const command = defineCommand({ name: 'hook', help: HELP, options: OPTIONS, operands: ['AGENT'], run });

/** The largest payload read: a command over the gate's limit is still recorded by its digest. */
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** How much of the agent's timeout the hook keeps in reserve to answer and exit. */
export function answerBudgetMs(agentTimeoutMs: number): number {
  const reserve = Math.min(Math.max(agentTimeoutMs * 0.1, 3000), 15_000);
  return Math.max(agentTimeoutMs - reserve, agentTimeoutMs / 2);
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  const agent = agentNamed(p.positionals[0]);
  const agentTimeout = parseSeconds(str(p, 'agent-timeout'), '--agent-timeout') ?? agent.defaultTimeoutSeconds;
  const reviewerTimeout = parseSeconds(str(p, 'timeout'), '--timeout');
  const started = Date.now();
  const answerBy = started + answerBudgetMs(agentTimeout * 1000);
  const watchdog = new AbortController();
  const stop = AbortSignal.any([watchdog.signal, ...(io.signal ? [io.signal] : [])]);
  let answer: HookAnswer;
  try {
    answer = await Promise.race([
      decide(p, io, agent, { answerBy, reviewerTimeoutMs: reviewerTimeout && reviewerTimeout * 1000, signal: stop }),
      // the answer is due: whatever is still running, the agent must hear a deny before it gives up
      // a referenced timer: a stalled check cannot let the process end without an answer
      delay(Math.max(0, answerBy - Date.now())).then((): HookAnswer => ({
        kind: 'deny',
        reason:
          `policy-gate: no decision within ${Math.round((answerBy - started) / 1000)} s ` +
          `(the agent's hook timeout is ${agentTimeout} s): blocked`,
      })),
    ]);
  } catch (err) {
    answer = { kind: 'deny', reason: `policy-gate could not check this command: ${errorLine(err)}; blocked` };
  } finally {
    watchdog.abort();
  }
  const out = agent.answer(answer);
  if (out.stdout) io.stdout.write(out.stdout);
  if (out.stderr) io.stderr.write(out.stderr);
  return out.exit;
}

function errorLine(err: unknown): string {
  const gate = storeError(err) ?? err;
  if (gate instanceof GateError) return gate.oneLine;
  return `internal error: ${describeCause(err)}`;
}

interface Budget {
  readonly answerBy: number;
  readonly reviewerTimeoutMs: number | undefined;
  readonly signal: AbortSignal;
}

async function decide(p: Parsed, io: CliIo, agent: Agent, budget: Budget): Promise<HookAnswer> {
  const payload = await readPayload(io);
  const call = agent.parse(payload);
  if (call.kind === 'other') return { kind: 'pass' };
  const server = str(p, 'server') ?? (io.env.POLICY_GATE_SERVER || undefined);
  if (server !== undefined) return decideThroughServer(server, p, io, agent, call, budget);
  const loc = hookLocations(locations(p, io), budget.answerBy);
  const gate = await openGate(loc, {
    home: home(io),
    timeZone: systemTimeZone(io),
    warn: (message) => io.stderr.write(`policy-gate: ${message}\n`),
  });
  try {
    const input = commandFromText(
      call.command,
      gate.policy.gate.limits?.max_command_bytes ?? DEFAULT_MAX_COMMAND_BYTES,
    );
    // the reviewer's wait ends a second before the answer is due, so its timeout is recorded
    const waitMs = Math.max(0, budget.answerBy - Date.now() - 1000);
    const { record, assessment } = await gate.check(
      {
        command: input.text,
        invalidUtf8: input.invalidUtf8,
        truncated: input.truncated,
        session: call.session,
        agent: agent.label,
        intent: call.intent,
        cwd: workingDirectory(call, io),
        wait: true,
        timeoutMs: budget.reviewerTimeoutMs,
        maxTimeoutMs: waitMs,
      },
      budget.signal,
    );
    return answerFor(record, whyNotWhitelisted(assessment, gate.policy));
  } finally {
    await gate.close();
  }
}

/** The same decision asked of a resident gate (`serve`): nothing but Node's net or http is loaded. */
async function decideThroughServer(
  server: string,
  p: Parsed,
  io: CliIo,
  agent: Agent,
  call: ShellCall,
  budget: Budget,
): Promise<HookAnswer> {
  const { remoteSubmit } = await import('./thin.js');
  const input = commandFromText(call.command, Number.MAX_SAFE_INTEGER);
  const answer = await remoteSubmit(
    server,
    str(p, 'token') ?? (io.env.POLICY_GATE_TOKEN || undefined),
    {
      command: input.text,
      ...(input.invalidUtf8 ? { invalid_utf8: true } : {}),
      ...(call.session ? { session_id: call.session } : {}),
      agent: agent.label,
      ...(call.intent ? { intent: call.intent } : {}),
      cwd: workingDirectory(call, io),
      wait: true,
      ...(budget.reviewerTimeoutMs ? { timeout_ms: Math.max(1000, Math.round(budget.reviewerTimeoutMs)) } : {}),
      max_wait_ms: Math.max(0, budget.answerBy - Date.now() - 1000),
    },
    io.cwd,
    budget.signal,
  );
  return answerFor(answer.record as CommandRecord, answer.why_not_whitelisted ?? null);
}

/** The payload's cwd (agents always send one); it must exist, or the gate would judge a place that is not there. */
function workingDirectory(call: ShellCall, io: CliIo): string {
  const cwd = resolve(io.cwd, call.cwd ?? '.');
  let dir = false;
  try {
    dir = statSync(cwd).isDirectory();
  } catch {
    /* missing */
  }
  if (!dir) throw payloadError(`cwd ${cwd} is not a directory on this machine`);
  return cwd;
}

/** The store's lock wait is part of the answer's budget too. */
function hookLocations(loc: Locations, answerBy: number): Locations {
  const left = Math.max(500, Math.floor((answerBy - Date.now()) / 3));
  return { ...loc, lockTimeoutMs: Math.min(loc.lockTimeoutMs ?? Infinity, left) };
}

async function readPayload(io: CliIo): Promise<unknown> {
  if (io.stdinIsTTY) throw payloadError('nothing on standard input (the agent pipes its hook payload there)');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const raw of io.stdin) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    total += chunk.length;
    if (total > MAX_PAYLOAD_BYTES) throw payloadError(`larger than ${MAX_PAYLOAD_BYTES / 1024 / 1024} MiB`);
    chunks.push(Buffer.from(chunk));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw payloadError('not UTF-8');
  }
  if (text.trim() === '') throw payloadError('empty (expected the JSON object the agent sends)');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw payloadError(`not JSON (${(err as Error).message})`);
  }
}

/** What the agent is told: the decision, who or what made it, why, and the command's id. */
export function answerFor(record: CommandRecord, notWhitelisted: string | null = null): HookAnswer {
  const id = record.command_id;
  const risk = `risk ${record.risk_level} ${record.risk_score}`;
  if (allowsRun(record.decision) && record.truncated) {
    // the reviewer saw only the first bytes of it: as `exec` does, the whole is never run
    return {
      kind: 'deny',
      reason: `policy-gate: command ${id} is larger than the gate's limit and was judged by its first bytes only: not run`,
    };
  }
  if (allowsRun(record.decision)) {
    const by =
      record.decision === 'whitelisted'
        ? `whitelisted${record.whitelist_provenance.length ? ` by ${rules(record)}` : ''}`
        : `approved by ${record.decided_by ?? 'a reviewer'}`;
    return { kind: 'allow', reason: `policy-gate: ${by} (command ${id}, ${risk})` };
  }
  const why = heldBecause(record, record.decision === 'denied' ? null : notWhitelisted);
  switch (record.decision) {
    case 'denied': {
      const rule = record.decided_by?.startsWith('policy_rule:')
        ? record.decided_by.slice('policy_rule:'.length)
        : null;
      const by = rule !== null ? `denied by policy rule ${rule}` : `denied by ${record.decided_by ?? 'policy'}`;
      const said = record.reason ? `: ${record.reason}` : '';
      return {
        kind: 'deny',
        reason: `policy-gate: ${by}${said} (command ${id}, ${risk}${why ? `; ${why}` : ''}). Do not run it another way.`,
      };
    }
    case 'timed_out':
      return {
        kind: 'deny',
        reason:
          `policy-gate: timed out, no reviewer decided (command ${id}, ${risk}${why ? `; held: ${why}` : ''}). ` +
          'Not run: ask a reviewer to look at `policy-gate review`, then try again.',
      };
    default:
      return {
        kind: 'deny',
        reason:
          `policy-gate: no decision yet (command ${id} is pending, ${risk}${why ? `; held: ${why}` : ''}): blocked. ` +
          `A reviewer can decide it with: policy-gate review show ${id}`,
      };
  }
}

function rules(record: CommandRecord): string {
  return [...new Set(record.whitelist_provenance.map((p) => p.rule_id))].join(', ');
}

/** The strongest signals, or why no whitelist rule applied. */
function heldBecause(record: CommandRecord, notWhitelisted: string | null): string {
  const signals = [...record.signals].sort((a, b) => b.score - a.score).slice(0, 3);
  return [...signals.map((s) => s.message), ...(notWhitelisted ? [notWhitelisted] : [])].join('; ');
}
