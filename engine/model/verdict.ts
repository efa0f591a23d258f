/**
 * The verdict vocabulary, written once: risk levels in order, the decisions a command can end
 * in, which of them may run, and what each means to a caller (exit code, next step). Every
 * front end (CLI, hooks, a server's HTTP statuses) and every engine stage that asks "may this
 * run?" reads it from here.
 */
import { ExitCode } from '../util/exit-codes.js';

/** Risk levels, least to most severe. */
export const LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** Strictest wins: the more severe of the levels given (`low` for none). */
export function strictestLevel(...levels: readonly Level[]): Level {
  let top: Level = 'low';
  for (const l of levels) if (levelRank(l) > levelRank(top)) top = l;
  return top;
}

/** The decisions a command's record can end in. */
export const DECISIONS = ['whitelisted', 'approved', 'denied', 'timed_out'] as const;
export type Decision = (typeof DECISIONS)[number];
/** A command's state: its decision, or pending until there is one. */
export type CommandState = Decision | 'pending';
export const COMMAND_STATES: readonly CommandState[] = ['whitelisted', 'approved', 'pending', 'denied', 'timed_out'];

/** What the gate would decide on its own, before any reviewer: the outcome of routing. */
export type WouldDecide = 'whitelisted' | 'pending' | 'denied';

/**
 * Strictness of a state or routing outcome, least strict first: may run < waits < must not run.
 * Strictest wins when outcomes are combined or compared (policy diffs, replays).
 */
const STRICTNESS: Readonly<Record<CommandState, number>> = {
  whitelisted: 0,
  approved: 0,
  pending: 1,
  timed_out: 2,
  denied: 3,
};

export function strictness(state: CommandState): number {
  return STRICTNESS[state];
}

/** The only question a caller has to ask: may the command run now? Approved or whitelisted. */
export function allowsRun(state: CommandState | null | undefined): boolean {
  return state === 'approved' || state === 'whitelisted';
}

/** The exit code `check` returns for a state (DESIGN.md's frozen table). */
export function exitCodeFor(state: CommandState): number {
  if (allowsRun(state)) return ExitCode.Allowed;
  return state === 'pending' ? ExitCode.Pending : ExitCode.Denied;
}

/** What the agent should do next, in words. */
export function nextStep(state: CommandState): string {
  switch (state) {
    case 'whitelisted':
    case 'approved':
      return 'run it.';
    case 'denied':
      return 'do not run it. Change the command, or ask the policy owners if this is a false positive.';
    case 'timed_out':
      return 'do not run it: no reviewer decided in time. Resubmit when a reviewer is available.';
    case 'pending':
      return 'do not run it yet: it waits for a human reviewer.';
  }
}
