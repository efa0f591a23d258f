#!/usr/bin/env node
// A stand-in for Claude Code, Codex and Gemini CLI at the moment they run a pre-tool hook,
// written from each agent's published hook documentation (and, where the docs are silent, its
// source), independently of policy-gate's adapter: it reads the hook configuration from the
// agent's own settings file, picks the handlers whose matcher matches the tool, runs each
// command line the way the agent does (its shell, the session's cwd, the payload on stdin, the
// timeout in the agent's unit, the process killed at the timeout) and judges the outcome by
// the agent's rules — which fail OPEN: a crash, exit 1, 127, a timeout all let the tool run.
//
// Usage: fake-agent.mjs AGENT SETTINGS_FILE PAYLOAD_FILE
// Prints one JSON object: { outcome: "blocked" | "ran" | "asked", reason, handlers: [...] }.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';

const [agent, settingsFile, payloadFile] = process.argv.slice(2);
const payloadText = readFileSync(payloadFile, 'utf8');
let payload = {};
try {
  payload = JSON.parse(payloadText);
} catch {
  // a test may send bytes that are not JSON: the agent never does, but the hook must cope
}

const AGENTS = {
  claude: { event: 'PreToolUse', unitMs: 1000, defaultTimeout: 600, shell: ['sh', '-c'], read: readJson },
  codex: { event: 'PreToolUse', unitMs: 1000, defaultTimeout: 600, shell: ['sh', '-lc'], read: readToml },
  gemini: { event: 'BeforeTool', unitMs: 1, defaultTimeout: 60000, shell: ['bash', '-c'], read: readJson },
};
const spec = AGENTS[agent];
if (!spec) throw new Error(`unknown agent ${agent}`);

function readJson(path) {
  return parseJsonc(readFileSync(path, 'utf8'), [], { allowTrailingComma: true });
}
function readToml(path) {
  return parseToml(readFileSync(path, 'utf8'));
}

/** Claude Code: exact name or |-list for plain words, else an unanchored regular expression. */
function claudeMatches(matcher, tool) {
  if (matcher === undefined || matcher === '' || matcher === '*') return true;
  if (/^[A-Za-z0-9_\-|, ]+$/.test(matcher))
    return matcher
      .split(/[|,]/)
      .map((s) => s.trim())
      .includes(tool);
  return new RegExp(matcher).test(tool);
}
/** Codex and Gemini CLI: an unanchored regular expression. */
function regexMatches(matcher, tool) {
  if (matcher === undefined || matcher === '' || matcher === '*') return true;
  try {
    return new RegExp(matcher).test(tool);
  } catch {
    return matcher === tool;
  }
}

function run(command, timeoutMs) {
  return new Promise((resolve) => {
    const [sh, flag] = spec.shell;
    const child = spawn(sh, [flag, command], {
      cwd: payload.cwd || process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
      // FAKE_AGENT_HOOK_ENV: extra environment for the hook only (e.g. NODE_OPTIONS to crash it)
      env: { ...process.env, ...JSON.parse(process.env.FAKE_AGENT_HOOK_ENV ?? '{}') },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(payloadText);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function parseObject(text) {
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Claude Code's reading of one hook run (hooks reference, "Exit code output"). */
function claude(r) {
  if (r.timedOut) return { outcome: 'ran', reason: 'hook timed out: normal permission flow' };
  const json = r.stdout.trim().startsWith('{') ? parseObject(r.stdout.trim()) : null;
  const out = json?.hookSpecificOutput;
  const decision = out?.hookEventName === 'PreToolUse' ? out.permissionDecision : undefined;
  if (r.code === 2)
    return { outcome: 'blocked', reason: decision === 'deny' ? out.permissionDecisionReason : r.stderr.trim() };
  if (decision === 'deny') return { outcome: 'blocked', reason: out.permissionDecisionReason };
  if (decision === 'ask') return { outcome: 'asked', reason: out.permissionDecisionReason };
  if (decision === 'allow') return { outcome: 'ran', reason: out.permissionDecisionReason, allowed: true };
  // exit 0 without a decision, exit 1, 127, a crash: not a block
  return { outcome: 'ran', reason: r.code === 0 ? 'no decision' : `non-blocking hook error (exit ${r.code})` };
}

/** Codex's reading (codex-rs/hooks pre_tool_use.rs parse_completed). */
function codex(r) {
  if (r.timedOut) return { outcome: 'ran', reason: 'hook timed out' };
  if (r.code === null) return { outcome: 'ran', reason: 'hook exited without a status code' };
  if (r.code === 2) {
    const reason = r.stderr.trim();
    return reason ? { outcome: 'blocked', reason } : { outcome: 'ran', reason: 'exit 2 without a reason on stderr' };
  }
  if (r.code !== 0) return { outcome: 'ran', reason: `hook exited with code ${r.code}` };
  const text = r.stdout.trim();
  if (text === '' || !(text.startsWith('{') || text.startsWith('['))) return { outcome: 'ran', reason: 'no decision' };
  const json = parseObject(text);
  if (!json) return { outcome: 'ran', reason: 'invalid pre-tool-use JSON output' };
  if (json.decision === 'block') return { outcome: 'blocked', reason: json.reason };
  const d = json.hookSpecificOutput?.permissionDecision;
  if (d === 'deny') return { outcome: 'blocked', reason: json.hookSpecificOutput.permissionDecisionReason };
  if (d === 'allow' && json.hookSpecificOutput.updatedInput)
    return { outcome: 'ran', reason: 'allowed (rewritten)', allowed: true };
  // "ask", a bare "allow": unsupported, the run fails and the tool proceeds
  return { outcome: 'ran', reason: d ? `unsupported permissionDecision:${d}` : 'no decision' };
}

/** Gemini CLI's reading (packages/core/src/hooks/hookRunner.ts executeCommandHook). */
function gemini(r) {
  if (r.timedOut) return { outcome: 'ran', reason: 'hook timed out' };
  const code = r.code || 0; // killed by a signal: treated as success
  const text = r.stdout.trim() || r.stderr.trim();
  if (text === '') return { outcome: 'ran', reason: 'no output' };
  let json = parseObject(text);
  if (json === null) {
    try {
      const inner = JSON.parse(text);
      if (typeof inner === 'string') json = parseObject(inner);
    } catch {
      /* plain text */
    }
  }
  if (json === null) {
    if (code === 0 || code === 1) return { outcome: 'ran', reason: `systemMessage: ${text}` };
    return { outcome: 'blocked', reason: text };
  }
  if (json.decision === 'deny' || json.decision === 'block') return { outcome: 'blocked', reason: json.reason };
  if (json.decision === 'ask') return { outcome: 'asked', reason: json.systemMessage };
  return {
    outcome: 'ran',
    reason: json.reason ?? 'allowed',
    allowed: json.decision === 'allow' || json.decision === 'approve',
  };
}

const judge = { claude, codex, gemini }[agent];
const settings = spec.read(settingsFile);
const groups = settings?.hooks?.[spec.event] ?? [];
// a payload that is not JSON (never sent by an agent) is routed as a call of FAKE_AGENT_TOOL
const tool = payload.tool_name ?? process.env.FAKE_AGENT_TOOL ?? '';
const handlers = [];
for (const group of groups) {
  const matches = agent === 'claude' ? claudeMatches(group.matcher, tool) : regexMatches(group.matcher, tool);
  if (!matches) continue;
  for (const h of group.hooks ?? []) if (h.type === 'command') handlers.push(h);
}
const started = Date.now();
const results = await Promise.all(
  handlers.map(async (h) => {
    const timeoutMs = (typeof h.timeout === 'number' ? h.timeout : spec.defaultTimeout) * spec.unitMs;
    const r = await run(h.command, timeoutMs);
    return { ...r, timeoutMs, ...judge(r) };
  }),
);
// any block wins, then ask, then the tool runs
const blocked = results.find((r) => r.outcome === 'blocked');
const asked = results.find((r) => r.outcome === 'asked');
const final = blocked ?? asked ?? results[0] ?? { outcome: 'ran', reason: 'no hook matched' };
const verdict = {
  outcome: final.outcome,
  reason: final.reason ?? null,
  allowed: Boolean(final.allowed),
  elapsed_ms: Date.now() - started,
  handlers: results,
};
process.stdout.write(`${JSON.stringify(verdict)}\n`);
