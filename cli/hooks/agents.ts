/**
 * The three agents whose hooks policy-gate answers, each in its own format. What every adapter
 * must know about its agent (from the agents' hook documentation and source):
 *
 * - Only an explicit block blocks. Claude Code, Codex and Gemini CLI all *run* the command when
 *   a hook exits 1, crashes, is not found (127) or times out. So every refusal here exits 2
 *   with the reason on stderr (Codex ignores an exit 2 with an empty stderr) *and* writes the
 *   agent's deny JSON on stdout (Gemini CLI lets a JSON answer override the exit code, and
 *   Claude Code shows the JSON reason to the model).
 * - Allow differs: Claude Code takes `permissionDecision: "allow"`; Codex rejects a bare
 *   "allow" (it only allows with a rewritten input), so allow is a silent exit 0; Gemini CLI
 *   takes `{"decision": "allow"}`.
 * - A tool that is not a shell passes through: exit 0 with no output is "no opinion" in all
 *   three, and the agent's own permission flow applies.
 * - Gemini CLI's hook timeout is in milliseconds; the others' in seconds.
 */
import { resolve } from 'node:path';
import { shellJoin } from '../../engine/util/quote.js';
import { GateError } from '../../engine/util/errors.js';
import { ExitCode } from '../../engine/util/exit-codes.js';

export type AgentName = 'claude' | 'codex' | 'gemini';

/** A shell tool call, as the gate will judge it. */
export interface ShellCall {
  readonly kind: 'shell';
  readonly tool: string;
  readonly command: string;
  readonly session: string | undefined;
  /** The directory the command runs in (the payload's cwd, or Gemini's dir_path under it). */
  readonly cwd: string | undefined;
  /** What the model says the command is for (Claude's and Gemini's `description`). */
  readonly intent: string | undefined;
}

/** Any other tool: not a shell command, not the gate's to judge. */
export interface OtherCall {
  readonly kind: 'other';
  readonly tool: string;
}

export type HookAnswer =
  | { readonly kind: 'pass' }
  | { readonly kind: 'allow'; readonly reason: string }
  | { readonly kind: 'deny'; readonly reason: string };

/** What the hook process writes and how it exits. */
export interface HookOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: number;
}

export interface Agent {
  readonly name: AgentName;
  /** Its name in the record's `agent` field (whitelist rules may be scoped to it). */
  readonly label: string;
  readonly title: string;
  /** The hook event the gate is registered under. */
  readonly event: string;
  /** The matcher written into the agent's settings (a regular expression or exact tool name). */
  readonly matcher: string;
  /** The agent's hook timeout when the settings give none, in seconds. */
  readonly defaultTimeoutSeconds: number;
  /** The unit of the `timeout` field in the agent's settings. */
  readonly timeoutUnit: 'seconds' | 'milliseconds';
  /** The shell its hook commands run in (doctor runs the installed line the same way). */
  readonly hookShell: readonly string[];
  parse(payload: unknown): ShellCall | OtherCall;
  answer(answer: HookAnswer): HookOutput;
  /**
   * How the agent reads a hook's exit and output (doctor judges the installed hook by it):
   * only an explicit block blocks; an error is no decision, and the command runs.
   */
  interpret(ran: { code: number | null; stdout: string; stderr: string }): Reading;
}

export type Reading = 'blocked' | 'allowed' | 'asked' | 'no decision (the command runs)';

const NO_DECISION: Reading = 'no decision (the command runs)';

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function preToolDecision(json: Record<string, unknown> | null): unknown {
  const out = json?.hookSpecificOutput as Record<string, unknown> | undefined;
  return out?.hookEventName === 'PreToolUse' ? out.permissionDecision : undefined;
}

/** A payload the gate cannot read: the call is denied, with this as the reason. */
export function payloadError(message: string): GateError {
  return new GateError('usage', `hook payload: ${message}`, { hint: 'the command must not run' });
}

/** The longest reason written back: agents cap hook output (Claude Code at 10,000 characters). */
const MAX_REASON = 4000;

function clip(text: string): string {
  // one line: agents show the reason in a single message
  const reason = text.replace(/[\r\n\t]+/g, ' ');
  return reason.length <= MAX_REASON ? reason : `${reason.slice(0, MAX_REASON - 1)}…`;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw payloadError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw payloadError(`${where}${key} is ${typeof v}, not a string`);
  return v;
}

interface Common {
  readonly o: Record<string, unknown>;
  readonly tool: string;
  readonly session: string | undefined;
  readonly cwd: string | undefined;
}

/** The fields every agent's payload shares; the event must be the one the gate handles. */
function common(payload: unknown, event: string): Common {
  const o = asObject(payload, 'the payload');
  const hookEvent = optionalString(o, 'hook_event_name', '');
  if (hookEvent !== undefined && hookEvent !== event)
    throw payloadError(`hook_event_name is ${JSON.stringify(hookEvent)}; policy-gate answers ${event} hooks`);
  const tool = o.tool_name;
  if (typeof tool !== 'string' || tool === '') throw payloadError('no tool_name');
  const cwd = optionalString(o, 'cwd', '');
  return { o, tool, session: optionalString(o, 'session_id', '') || undefined, cwd: cwd || undefined };
}

/** The command of a shell call: a non-empty string. */
function commandOf(input: Record<string, unknown>, tool: string): string {
  const command = input.command;
  if (typeof command !== 'string') throw payloadError(`${tool} tool_input.command is not a string`);
  if (command.trim() === '') throw payloadError(`${tool} tool_input.command is empty`);
  return command;
}

const SHELL_WRAPPERS = new Set(['bash', 'sh', 'zsh', '/bin/bash', '/bin/sh', '/bin/zsh', '/usr/bin/bash']);

/**
 * Codex's legacy shell tool passes an argv (`["bash", "-lc", "script"]`): the script is what
 * runs. Any other argv is one simple command, quoted word by word, so the gate sees exactly it.
 */
function codexCommand(value: unknown): string {
  if (typeof value === 'string') {
    if (value.trim() === '') throw payloadError('Bash tool_input.command is empty');
    return value;
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((w) => typeof w === 'string'))
    throw payloadError('Bash tool_input.command is neither a string nor an argv of strings');
  const argv = value as string[];
  if (argv.length === 3 && SHELL_WRAPPERS.has(argv[0]!) && /^-l?c$/.test(argv[1]!)) {
    if (argv[2]!.trim() === '') throw payloadError('Bash tool_input.command runs an empty script');
    return argv[2]!;
  }
  return shellJoin(argv);
}

function denyJson(event: string, reason: string): string {
  return `${JSON.stringify({
    hookSpecificOutput: { hookEventName: event, permissionDecision: 'deny', permissionDecisionReason: reason },
  })}\n`;
}

/** A refusal every agent honours: its deny JSON on stdout, the reason on stderr, exit 2. */
function refusal(stdout: string, reason: string): HookOutput {
  return { stdout, stderr: `${reason}\n`, exit: ExitCode.Usage };
}

const silent: HookOutput = { stdout: '', stderr: '', exit: 0 };

export const claude: Agent = {
  name: 'claude',
  label: 'claude-code',
  title: 'Claude Code',
  event: 'PreToolUse',
  matcher: 'Bash',
  defaultTimeoutSeconds: 600,
  timeoutUnit: 'seconds',
  hookShell: ['sh', '-c'],
  parse(payload) {
    const { o, tool, session, cwd } = common(payload, 'PreToolUse');
    // PowerShell is Claude Code's other shell (Windows): not bash, so never judged as bash
    if (tool === 'PowerShell') throw payloadError('PowerShell commands cannot be checked by policy-gate (bash only)');
    if (tool !== 'Bash') return { kind: 'other', tool };
    const input = asObject(o.tool_input, 'Bash tool_input');
    const intent = optionalString(input, 'description', 'Bash tool_input.');
    return { kind: 'shell', tool, command: commandOf(input, tool), session, cwd, intent: intent || undefined };
  },
  answer(a) {
    if (a.kind === 'pass') return silent;
    const reason = clip(a.reason);
    if (a.kind === 'deny') return refusal(denyJson('PreToolUse', reason), reason);
    const out = { hookEventName: 'PreToolUse', permissionDecision: 'allow', permissionDecisionReason: reason };
    return { stdout: `${JSON.stringify({ hookSpecificOutput: out })}\n`, stderr: '', exit: 0 };
  },
  interpret({ code, stdout }) {
    if (code === 2) return 'blocked';
    const decision = preToolDecision(stdout.trim().startsWith('{') ? jsonObject(stdout.trim()) : null);
    if (decision === 'deny') return 'blocked';
    if (decision === 'ask') return 'asked';
    if (decision === 'allow') return 'allowed';
    return NO_DECISION;
  },
};

/** Tool names Codex's hooks have used for shell calls (newer builds report them all as "Bash"). */
const CODEX_SHELL_TOOLS = new Set(['Bash', 'shell', 'local_shell', 'shell_command', 'exec_command', 'unified_exec']);

export const codex: Agent = {
  name: 'codex',
  label: 'codex',
  title: 'Codex',
  event: 'PreToolUse',
  matcher: '^Bash$',
  defaultTimeoutSeconds: 600,
  timeoutUnit: 'seconds',
  // Codex runs hook commands with `$SHELL -lc`
  hookShell: ['sh', '-lc'],
  parse(payload) {
    const { o, tool, session, cwd } = common(payload, 'PreToolUse');
    if (!CODEX_SHELL_TOOLS.has(tool)) return { kind: 'other', tool };
    const input = asObject(o.tool_input, `${tool} tool_input`);
    const intent = optionalString(input, 'description', `${tool} tool_input.`);
    return { kind: 'shell', tool, command: codexCommand(input.command), session, cwd, intent: intent || undefined };
  },
  answer(a) {
    // Codex treats a bare "allow" as an error (and runs the command anyway): allow is silence
    if (a.kind !== 'deny') return silent;
    const reason = clip(a.reason);
    return refusal(denyJson('PreToolUse', reason), reason);
  },
  interpret({ code, stdout, stderr }) {
    if (code === 2) return stderr.trim() !== '' ? 'blocked' : NO_DECISION;
    if (code !== 0) return NO_DECISION;
    const text = stdout.trim();
    // silence is how the gate allows (Codex has no bare "allow")
    if (text === '') return 'allowed';
    const json = jsonObject(text);
    if (json?.decision === 'block' || preToolDecision(json) === 'deny') return 'blocked';
    return NO_DECISION;
  },
};

export const gemini: Agent = {
  name: 'gemini',
  label: 'gemini-cli',
  title: 'Gemini CLI',
  event: 'BeforeTool',
  matcher: '^run_shell_command$',
  defaultTimeoutSeconds: 60,
  timeoutUnit: 'milliseconds',
  hookShell: ['bash', '-c'],
  parse(payload) {
    const { o, tool, session, cwd } = common(payload, 'BeforeTool');
    if (tool !== 'run_shell_command') return { kind: 'other', tool };
    const input = asObject(o.tool_input, 'run_shell_command tool_input');
    const intent = optionalString(input, 'description', 'run_shell_command tool_input.');
    // the command runs in dir_path, relative to the session's directory
    const dir = optionalString(input, 'dir_path', 'run_shell_command tool_input.');
    const where = dir && cwd ? resolve(cwd, dir) : (dir ?? cwd);
    return { kind: 'shell', tool, command: commandOf(input, tool), session, cwd: where, intent: intent || undefined };
  },
  answer(a) {
    if (a.kind === 'pass') return silent;
    const reason = clip(a.reason);
    if (a.kind === 'deny') return refusal(`${JSON.stringify({ decision: 'deny', reason })}\n`, reason);
    return { stdout: `${JSON.stringify({ decision: 'allow', reason })}\n`, stderr: '', exit: 0 };
  },
  interpret({ code, stdout, stderr }) {
    const text = stdout.trim() || stderr.trim();
    if (text === '') return NO_DECISION;
    const json = jsonObject(text);
    if (json === null) return code === 0 || code === 1 || code === null ? NO_DECISION : 'blocked';
    if (json.decision === 'deny' || json.decision === 'block') return 'blocked';
    if (json.decision === 'ask') return 'asked';
    if (json.decision === 'allow' || json.decision === 'approve') return 'allowed';
    return NO_DECISION;
  },
};

export const AGENTS: Readonly<Record<AgentName, Agent>> = { claude, codex, gemini };

export function agentNamed(name: string | undefined): Agent {
  if (name !== undefined && Object.hasOwn(AGENTS, name)) return AGENTS[name as AgentName];
  throw new GateError('usage', `${name === undefined ? 'no agent' : `unknown agent ${JSON.stringify(name)}`}`, {
    hint: 'expected one of: claude, codex, gemini',
  });
}
