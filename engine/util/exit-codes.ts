/**
 * The frozen exit-code table (DESIGN.md, README). Callers branch on these numbers, so they never
 * change meaning. An error never produces 0.
 */
export const ExitCode = Object.freeze({
  /** allowed (approved or whitelisted) / success */
  Allowed: 0,
  /** denied or timed out: do not run */
  Denied: 1,
  /** usage, configuration or policy error, unavailable store: the caller must NOT run */
  Usage: 2,
  /** still pending (`check --no-wait` only) */
  Pending: 3,
  /** audit integrity failure (`verify`) */
  Integrity: 4,
  /** internal error (a bug): printed with the version */
  Internal: 70,
  /** `exec` (or `shell`) did not run the command */
  NotRun: 126,
});

export const EXIT_CODE_TABLE: ReadonlyArray<readonly [number, string]> = Object.freeze([
  [ExitCode.Allowed, 'allowed (approved or whitelisted) / success'],
  [ExitCode.Denied, 'denied or timed out: do not run'],
  [ExitCode.Usage, 'usage, configuration or policy error, unavailable store: the caller must NOT run'],
  [ExitCode.Pending, 'still pending (`check --no-wait` only)'],
  [ExitCode.Integrity, 'audit integrity failure (`verify`)'],
  [ExitCode.Internal, 'internal error (a bug): printed with the version'],
  [ExitCode.NotRun, '`exec` or `shell` did not run the command (denied, timed out or error)'],
] as const);
