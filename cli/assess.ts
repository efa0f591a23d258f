import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import {
  assessRequest,
  ExitCode,
  usageError,
  whyNotWhitelisted,
  type Assessment,
  type AuditStore,
  type Policy,
  type TruncatedInput,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations, openStoreIfExists, policyFor, systemTimeZone } from './context.js';
import type { CliIo } from './io.js';
import { commandFromArgv, readCommand } from './input.js';
import { assessmentJson } from './render/json.js';
import { renderAssessment } from './render/record.js';
import { style } from './render/style.js';

const HELP = `Usage: policy-gate assess [options] [-- COMMAND...]

Score a command without recording anything: what check would decide, and why.

Options:
  --jsonl           read one command per line from standard input — a JSON string, or an
                    object {"cmd": …, "session"?, "cwd"?, "now"?} — and write one JSON result
                    per line, in order (the policy is compiled once)
  --session ID      use this session's history from the store (bursts, novelty)
  --cwd DIR         working directory the command would run in (default: the current one);
                    paths outside its project (its Git work tree) are judged as such
  --now TIME        evaluate as of this ISO 8601 time
  --agent NAME      the agent that would submit it (whitelist rules may be scoped to agents)
  --require-reviewed  use only whitelist rules merged into the protected ref
  --json            print one JSON object on stdout
  --store PATH      audit store to read history from (never written; found as check finds it)
  --policy DIR      policy directory
  -h, --help        show this help

Output fields: risk_score, risk_level, signals[], segments[], issues[], would_decide
(whitelisted | denied | pending), decided_by, policy_revision.
Exit codes: 0 assessed (whatever the verdict) · 2 usage or policy error · 70 internal error

Examples:
  policy-gate assess -- 'rm -rf ~/'
  printf '%s\\n' '"ls -la"' '{"cmd":"curl x | sh"}' | policy-gate assess --jsonl
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  jsonl: { type: 'boolean' },
  session: { type: 'string' },
  cwd: { type: 'string' },
  now: { type: 'string' },
  agent: { type: 'string' },
  'require-reviewed': { type: 'boolean' },
} as const;

export const command = defineCommand({ name: 'assess', help: HELP, options: OPTIONS, commandAfterDash: true, run });

interface Context {
  policy: Policy;
  store: AuditStore | null;
  home: string | undefined;
  timeZone: string | undefined;
  protectedPaths: readonly string[];
  agent: string | undefined;
  requireReviewed: boolean;
}

async function assessOne(
  ctx: Context,
  command: string,
  opts: {
    session?: string | undefined;
    cwd?: string | undefined;
    now?: Date | undefined;
    invalidUtf8?: boolean;
    truncated?: TruncatedInput | undefined;
  },
): Promise<Assessment> {
  return assessRequest(
    {
      command,
      invalidUtf8: opts.invalidUtf8 ?? false,
      truncated: opts.truncated,
      session: opts.session,
      agent: ctx.agent,
      cwd: opts.cwd,
      now: opts.now,
      requireReviewed: ctx.requireReviewed,
    },
    {
      policy: ctx.policy,
      store: ctx.store,
      home: ctx.home,
      timeZone: ctx.timeZone,
      protectedPaths: ctx.protectedPaths,
    },
  );
}

async function run(p: Parsed, io: CliIo): Promise<number> {
  const now = parseTime(str(p, 'now'), '--now');
  const loc = locations(p, io);
  const policy = await policyFor(loc);
  const store = str(p, 'session') || bool(p, 'jsonl') ? await openStoreIfExists(loc) : null;
  const ctx: Context = {
    policy,
    store,
    home: home(io),
    timeZone: systemTimeZone(io),
    protectedPaths: loc.protectedPaths,
    agent: str(p, 'agent'),
    requireReviewed: bool(p, 'require-reviewed'),
  };
  try {
    if (bool(p, 'jsonl')) {
      if (p.rest && p.rest.length > 0) throw usageError('--jsonl reads commands from standard input, not after --');
      await jsonLines(ctx, io, { session: str(p, 'session'), cwd: resolve(io.cwd, str(p, 'cwd') ?? '.'), now });
      return ExitCode.Allowed;
    }
    const input =
      p.rest && p.rest.length > 0
        ? commandFromArgv(p.rest, io)
        : await readCommand(io, policy.gate.limits?.max_command_bytes);
    const a = await assessOne(ctx, input.text, {
      session: str(p, 'session'),
      cwd: resolve(io.cwd, str(p, 'cwd') ?? '.'),
      now,
      invalidUtf8: input.invalidUtf8,
      truncated: input.truncated,
    });
    if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(assessmentJson(a))}\n`);
    else io.stdout.write(renderAssessment(style(io.stdout, io.env), a, whyNotWhitelisted(a, policy)));
    return ExitCode.Allowed;
  } finally {
    await store?.close();
  }
}

async function jsonLines(
  ctx: Context,
  io: CliIo,
  defaults: { session?: string | undefined; cwd?: string | undefined; now?: Date | undefined },
): Promise<void> {
  const lines = createInterface({ input: Readable.from(io.stdin), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let result: Record<string, unknown>;
    try {
      const item = JSON.parse(line) as unknown;
      const obj =
        typeof item === 'string'
          ? { cmd: item }
          : (item as { cmd?: unknown; session?: unknown; cwd?: unknown; now?: unknown; id?: unknown });
      if (!obj || typeof obj !== 'object' || typeof obj.cmd !== 'string')
        throw new Error('expected a JSON string or an object with a "cmd" string');
      const now = typeof obj.now === 'string' ? parseTime(obj.now, 'now') : defaults.now;
      const a = await assessOne(ctx, obj.cmd, {
        session: typeof obj.session === 'string' ? obj.session : defaults.session,
        cwd: typeof obj.cwd === 'string' ? resolve(defaults.cwd ?? '/', obj.cwd) : defaults.cwd,
        now,
      });
      result = { ...(obj.id !== undefined ? { id: obj.id } : {}), ...assessmentJson(a) };
    } catch (err) {
      result = { line: n, error: { code: 'input', message: (err as Error).message } };
    }
    io.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
