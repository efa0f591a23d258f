/**
 * The requests front ends build (the CLI from argv, a hook or a server from JSON) and the one
 * sequence that turns a request into an assessment: the session's history from the store, the
 * project and repositories of the working directory, then `assess`.
 */
import type { AuditReader } from '../audit/store.js';
import type { CommandRecord, SubmissionChannel, TruncatedInput } from '../model/events.js';
import { assess, type Assessment } from './assess.js';
import type { Policy } from './policy.js';
import { existsSync } from 'node:fs';
import { projectRoot } from '../policy/paths.js';
import { repositoryIds } from '../util/git.js';

/** A command to assess: what `assess` needs to judge it as `check` would. */
export interface AssessRequest {
  readonly command: string;
  /** The input was not valid UTF-8 (replacement characters stand in): never whitelisted. */
  readonly invalidUtf8?: boolean;
  /** `command` is only the first bytes of an input over the size limit (recorded, held, never run). */
  readonly truncated?: TruncatedInput | undefined;
  /** The session it belongs to (bursts and novelty are per session). */
  readonly session?: string | undefined;
  /** The agent submitting it (whitelist rules may be scoped to agents). */
  readonly agent?: string | undefined;
  /** The directory it runs in: paths outside its project are judged as such. */
  readonly cwd?: string | undefined;
  /** Judge as of this time (replay); default now. */
  readonly now?: Date | undefined;
  /** Use only whitelist rules that pass the gitops review checks (--require-reviewed). */
  readonly requireReviewed?: boolean;
}

/** A command to check: an assessment request, recorded, and answered. */
export interface CheckRequest extends AssessRequest {
  /** What the agent says the command is for. */
  readonly intent?: string | undefined;
  /** Wait for a reviewer's decision (or the timeout) when the command is pending. */
  readonly wait: boolean;
  /** Override the policy's timeout for this level (ms). */
  readonly timeoutMs?: number | undefined;
  /**
   * Never wait longer than this (ms), whatever the policy or `timeoutMs` say: a hook must answer
   * before its agent gives up on it (an agent runs the command when its hook times out).
   */
  readonly maxTimeoutMs?: number | undefined;
  /** Submitted to a resident gate: the API identity it authenticated as (recorded). */
  readonly via?: SubmissionChannel | undefined;
  /** Told when the command is held and the check starts waiting for a reviewer (see OnHeld). */
  readonly onHeld?: OnHeld | undefined;
}

/**
 * Told once, when a command is held for a reviewer and a wait for its decision begins (`check`
 * with `wait`, `Gate.resume`): its record as it stands (pending, durable, with its deadline) and
 * how long, from this call, the wait lasts at most (measured by the waiting gate, so a replayed
 * `now` or a wall clock that jumps does not shift it). For showing the wait — a countdown, a
 * hook's message; it is not awaited, and whatever it does or throws changes nothing in the gate.
 */
export type OnHeld = (record: CommandRecord, waitMs: number) => void;

export interface AssessDependencies {
  readonly policy: Policy;
  /** Where the session's history is read from; none: no history. */
  readonly store?: Pick<AuditReader, 'sessionHistory'> | null | undefined;
  /** The home directory (for `~` and for which directories are a project). */
  readonly home?: string | undefined;
  /** The gate's own store, policy and key paths (tampering rules match them). */
  readonly protectedPaths?: readonly string[] | undefined;
  /** The system's time zone: off-hours are judged in it when gate.yaml names none (AssessContext). */
  readonly timeZone?: string | undefined;
}

/** Assess a request: its session's history as of `now`, its working directory's project, the rules. */
export async function assessRequest(req: AssessRequest, deps: AssessDependencies): Promise<Assessment> {
  const { policy } = deps;
  const now = req.now ?? new Date();
  const burst = policy.gate.context.burst;
  const history =
    req.session && deps.store ? await deps.store.sessionHistory(req.session, now, burst?.window_seconds ?? 60) : null;
  const cwd = req.cwd;
  return assess(req.command, policy, {
    now,
    cwd,
    home: deps.home,
    project: cwd !== undefined && deps.home !== undefined ? projectOf(cwd, deps.home) : undefined,
    history,
    invalidUtf8: req.invalidUtf8 ?? false,
    protectedPaths: deps.protectedPaths ?? [],
    agent: req.agent,
    session: req.session,
    repos: cwd !== undefined ? scopedRepos(policy, cwd) : undefined,
    requireReviewed: req.requireReviewed ?? false,
    truncated: req.truncated,
    timeZone: deps.timeZone,
  });
}

/** The repository identifiers of `cwd`, looked up only when some whitelist rule is scoped by repo. */
export function scopedRepos(policy: Policy, cwd: string): string[] | undefined {
  return policy.whitelist.some((w) => w.definition.repos) ? repositoryIds(cwd) : undefined;
}

/** The project a command run in `cwd` works in (see projectRoot): rules judge paths outside it. */
export function projectOf(cwd: string, homeDir: string): string | null {
  return projectRoot(cwd, homeDir, existsSync);
}
