/**
 * The agents' hook settings, edited in place: Claude Code's and Gemini CLI's settings.json
 * (JSON with comments, edited with jsonc-parser so the user's comments and layout stay) and
 * Codex's config.toml (the gate's hook is one marked block of `[[hooks.PreToolUse]]` tables,
 * appended and removed as text, so nothing else in the file is rewritten).
 *
 * The gate's entries are recognised by their command (`… hook <agent> …` of policy-gate), so a
 * second install replaces the first and uninstall removes only what install wrote.
 */
import { applyEdits, modify, parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { join } from 'node:path';
import { GateError } from '../../engine/util/errors.js';
import type { Agent } from './agents.js';

export type Scope = 'project' | 'user';

/** Where an agent reads its hook settings, for a project (its directory) or for the user. */
export function settingsPath(
  agent: Agent,
  scope: Scope,
  where: { cwd: string; home: string | undefined; env: Readonly<Record<string, string | undefined>> },
): string {
  const home = where.home;
  if (scope === 'user' && home === undefined && !(agent.name === 'codex' && where.env.CODEX_HOME))
    throw new GateError('usage', `${agent.title}'s user settings: no home directory (HOME is not set)`, {
      hint: 'set HOME, or use --project',
    });
  const user = home ?? '/';
  switch (agent.name) {
    case 'claude':
      return scope === 'user' ? join(user, '.claude', 'settings.json') : join(where.cwd, '.claude', 'settings.json');
    case 'codex':
      return scope === 'user'
        ? join(where.env.CODEX_HOME || join(user, '.codex'), 'config.toml')
        : join(where.cwd, '.codex', 'config.toml');
    case 'gemini':
      return scope === 'user' ? join(user, '.gemini', 'settings.json') : join(where.cwd, '.gemini', 'settings.json');
  }
}

/** One hook the gate installed: the command line the agent runs and its timeout, in seconds. */
export interface InstalledHook {
  readonly command: string;
  readonly timeoutSeconds: number | null;
  readonly matcher: string | null;
}

/** The handler the agent runs: its command line and timeout (in seconds here, converted per agent). */
export interface HookEntry {
  readonly command: string;
  readonly timeoutSeconds: number;
}

/** A command line that runs policy-gate's hook for this agent. */
export function isGateHook(agent: Agent, command: unknown): boolean {
  return typeof command === 'string' && new RegExp(`policy-gate[^ ]*'? hook ${agent.name}(?: |$)`).test(command);
}

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

function parseSettings(path: string, text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const e = errors[0]!;
    const line = text.slice(0, e.offset).split('\n').length;
    throw new GateError('usage', `${path}:${line}: not valid JSON (${printParseErrorCode(e.error)}); nothing changed`, {
      hint: 'fix the file, then run install again',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GateError('usage', `${path}: not a JSON object; nothing changed`);
  return value as Record<string, unknown>;
}

interface Group {
  matcher?: unknown;
  hooks?: unknown;
}

function groupsOf(settings: Record<string, unknown>, event: string): Group[] {
  const hooks = settings.hooks;
  if (hooks === undefined) return [];
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks))
    throw new GateError('usage', '"hooks" is not an object');
  const groups = (hooks as Record<string, unknown>)[event];
  if (groups === undefined) return [];
  if (!Array.isArray(groups)) throw new GateError('usage', `"hooks.${event}" is not an array`);
  return groups as Group[];
}

function handlersOf(group: Group): Record<string, unknown>[] {
  return Array.isArray(group.hooks) ? (group.hooks as Record<string, unknown>[]) : [];
}

/** The settings.json without the gate's handlers (a group left empty goes too). */
function withoutGate(agent: Agent, path: string, text: string): string {
  const settings = parseSettings(path, text);
  const groups = groupsOf(settings, agent.event);
  // remove from the end so earlier indices stay valid
  for (let g = groups.length - 1; g >= 0; g--) {
    const handlers = handlersOf(groups[g]!);
    const ours = handlers.map((h, i) => (isGateHook(agent, h?.command) ? i : -1)).filter((i) => i >= 0);
    if (ours.length === 0) continue;
    if (ours.length === handlers.length) {
      text = applyEdits(text, modify(text, ['hooks', agent.event, g], undefined, FORMAT));
    } else {
      for (const i of ours.reverse())
        text = applyEdits(text, modify(text, ['hooks', agent.event, g, 'hooks', i], undefined, FORMAT));
    }
  }
  const after = parseSettings(path, text);
  const left = groupsOf(after, agent.event);
  if (left.length === 0 && (after.hooks as Record<string, unknown> | undefined)?.[agent.event] !== undefined)
    text = applyEdits(text, modify(text, ['hooks', agent.event], undefined, FORMAT));
  const hooks = parseSettings(path, text).hooks;
  if (hooks !== undefined && typeof hooks === 'object' && hooks !== null && Object.keys(hooks).length === 0)
    text = applyEdits(text, modify(text, ['hooks'], undefined, FORMAT));
  return text;
}

function jsonHandler(agent: Agent, entry: HookEntry): Record<string, unknown> {
  const timeout = agent.timeoutUnit === 'milliseconds' ? entry.timeoutSeconds * 1000 : entry.timeoutSeconds;
  return agent.name === 'gemini'
    ? {
        name: 'policy-gate',
        type: 'command',
        command: entry.command,
        timeout,
        description: 'policy-gate: check the shell command before it runs',
      }
    : { type: 'command', command: entry.command, timeout, statusMessage: 'policy-gate: checking the command' };
}

const CODEX_BEGIN =
  '# >>> policy-gate hook: written by `policy-gate install codex`; remove with `policy-gate uninstall codex`';
const CODEX_END = '# <<< policy-gate hook';

/** The settings text with the gate's hook (replacing one installed before). */
export function withGateHook(agent: Agent, path: string, text: string, entry: HookEntry): string {
  if (agent.name === 'codex') return codexWith(path, text, entry);
  text = withoutGate(agent, path, text);
  const groups = groupsOf(parseSettings(path, text), agent.event);
  const group = { matcher: agent.matcher, hooks: [jsonHandler(agent, entry)] };
  const edits = modify(text, ['hooks', agent.event, groups.length], group, { ...FORMAT, isArrayInsertion: true });
  const out = applyEdits(text, edits);
  return out.endsWith('\n') ? out : `${out}\n`;
}

/** The settings text without the gate's hook. */
export function withoutGateHook(agent: Agent, path: string, text: string): string {
  if (agent.name === 'codex') return codexWithout(text);
  return withoutGate(agent, path, text);
}

/** The gate's hooks found in the settings text. */
export function gateHooks(agent: Agent, path: string, text: string): InstalledHook[] {
  if (agent.name === 'codex') return codexHooks(text);
  const found: InstalledHook[] = [];
  for (const group of groupsOf(parseSettings(path, text), agent.event)) {
    for (const h of handlersOf(group)) {
      if (!isGateHook(agent, h?.command)) continue;
      const t = typeof h.timeout === 'number' ? h.timeout : null;
      found.push({
        command: h.command as string,
        timeoutSeconds: t === null ? null : agent.timeoutUnit === 'milliseconds' ? t / 1000 : t,
        matcher: typeof group.matcher === 'string' ? group.matcher : null,
      });
    }
  }
  return found;
}

/** Settings the agent has that turn every hook off. */
export function hooksDisabled(agent: Agent, path: string, text: string): string | null {
  if (agent.name === 'codex') {
    // [features] hooks = false (or its old name codex_hooks)
    const features = /^\[features\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
    return /^\s*(?:codex_)?hooks\s*=\s*false\b/m.test(features)
      ? '[features] hooks = false turns every hook off'
      : null;
  }
  const s = parseSettings(path, text);
  if (agent.name === 'claude' && s.disableAllHooks === true) return '"disableAllHooks": true turns every hook off';
  const config = s.hooksConfig as Record<string, unknown> | undefined;
  if (agent.name === 'gemini' && config && config.enabled === false)
    return '"hooksConfig.enabled": false turns every hook off';
  if (agent.name === 'gemini' && Array.isArray(config?.disabled) && config.disabled.includes('policy-gate'))
    return '"hooksConfig.disabled" lists policy-gate';
  return null;
}

// ---- Codex: config.toml -------------------------------------------------------------------

/** A TOML basic string (JSON's escapes are TOML's). */
function tomlString(s: string): string {
  return JSON.stringify(s);
}

function codexBlock(entry: HookEntry): string {
  return [
    CODEX_BEGIN,
    '[[hooks.PreToolUse]]',
    `matcher = ${tomlString('^Bash$')}`,
    '',
    '[[hooks.PreToolUse.hooks]]',
    'type = "command"',
    `command = ${tomlString(entry.command)}`,
    `timeout = ${entry.timeoutSeconds}`,
    'statusMessage = "policy-gate: checking the command"',
    CODEX_END,
    '',
  ].join('\n');
}

function codexWithout(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line === CODEX_BEGIN) {
      inside = true;
      // the blank line install put before the block goes with it
      if (out.length > 0 && out[out.length - 1] === '') out.pop();
    } else if (inside && line === CODEX_END) inside = false;
    else if (!inside) out.push(line);
  }
  return out.join('\n');
}

function codexWith(path: string, text: string, entry: HookEntry): string {
  const rest = codexWithout(text);
  // an inline `PreToolUse = [...]` (or `hooks = {...}`) cannot be extended with [[hooks.PreToolUse]] tables
  if (/^\s*PreToolUse\s*=/m.test(rest) || /^\s*hooks\s*=/m.test(rest))
    throw new GateError('usage', `${path} defines its hooks inline (PreToolUse = … or hooks = …); nothing changed`, {
      hint: 'write them as [[hooks.PreToolUse]] tables, then run install again',
    });
  const base = rest === '' || rest.endsWith('\n\n') ? rest : rest.endsWith('\n') ? `${rest}\n` : `${rest}\n\n`;
  return base + codexBlock(entry);
}

function codexHooks(text: string): InstalledHook[] {
  const begin = text.split('\n').indexOf(CODEX_BEGIN);
  if (begin === -1) return [];
  const block = text.split('\n').slice(begin);
  const end = block.indexOf(CODEX_END);
  const body = block.slice(0, end === -1 ? undefined : end).join('\n');
  const command = /^command = (".*")$/m.exec(body)?.[1];
  const timeout = /^timeout = (\d+)$/m.exec(body)?.[1];
  const matcher = /^matcher = (".*")$/m.exec(body)?.[1];
  if (command === undefined) return [];
  return [
    {
      command: JSON.parse(command) as string,
      timeoutSeconds: timeout === undefined ? null : Number(timeout),
      matcher: matcher === undefined ? null : (JSON.parse(matcher) as string),
    },
  ];
}
