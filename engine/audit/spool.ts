/**
 * The failed-write spool, for every backend: a write that failed is itself evidence, noted in
 * the gate's state directory (or, when that cannot be written either, in the system's temporary
 * directory) for the next writer to record as WRITE_FAILED. A writer claims a spool by renaming
 * it (one wins); a claim left by a writer that died is taken over by the next one, so nothing
 * spooled is lost while the store can be written.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecEndBody } from '../model/events.js';
import { describeCause } from '../util/errors.js';

/** Failed writes, noted in the state directory until the next writer records them. */
export const FAILURE_SPOOL = 'write-failures.jsonl';

/** A spooled failure as read back. */
export interface SpooledFailure {
  readonly failed_at: string | null;
  readonly event_type: string;
  readonly failed_command_id: string | null;
  readonly error: string;
  readonly pid: number;
  /** The event itself, when it states a fact that happened anyway (the end of a run). */
  readonly event: unknown;
}

/**
 * Where failures are spooled when the state directory cannot be written (a full disk): the
 * system's temporary directory, under a name derived from the store's location.
 */
export function fallbackSpool(location: string): string {
  const tag = createHash('sha256').update(location).digest('hex').slice(0, 16);
  return join(tmpdir(), `policy-gate-${tag}-${FAILURE_SPOOL}`);
}

/** Note a failed write. Never throws: with nowhere to write, the caller reports the failure. */
export function spoolFailure(
  stateDir: string,
  location: string,
  eventType: string,
  commandId: string | null,
  err: unknown,
  event?: ExecEndBody,
): void {
  const line = `${JSON.stringify({
    failed_at: new Date().toISOString(),
    event_type: eventType,
    failed_command_id: commandId,
    error: describeCause(err).slice(0, 500),
    pid: process.pid,
    ...(event ? { event } : {}),
  })}\n`;
  for (const spool of [join(stateDir, FAILURE_SPOOL), fallbackSpool(location)]) {
    try {
      appendFileSync(spool, line, { mode: 0o600 });
      return;
    } catch {
      /* try the next place */
    }
  }
}

/**
 * Claim every spool there is to record: the state directory's own, the temporary directory's
 * (moved in first) and claims left by writers that are gone. Returns the claimed files.
 */
export function claimSpools(stateDir: string, location: string): string[] {
  const spool = join(stateDir, FAILURE_SPOOL);
  adoptFallbackSpool(fallbackSpool(location), spool);
  const claims: string[] = [];
  const claim = (from: string): void => {
    const to = `${spool}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.ingesting`;
    try {
      renameSync(from, to);
      claims.push(to);
    } catch {
      /* another writer claimed it first */
    }
  };
  if (existsSync(spool)) claim(spool);
  let names: string[] = [];
  try {
    names = readdirSync(stateDir);
  } catch {
    /* unreadable directory: only the spool itself */
  }
  for (const name of names) {
    // claims are `<spool>.<pid>.<tag>.ingesting` (`<spool>.<pid>.ingesting` from older versions)
    const m = name.startsWith(`${FAILURE_SPOOL}.`)
      ? /^(\d+)(?:\.[a-z0-9]+)?\.ingesting$/.exec(name.slice(FAILURE_SPOOL.length + 1))
      : null;
    if (!m) continue;
    const pid = Number(m[1]);
    const path = join(stateDir, name);
    if (claims.includes(path)) continue;
    if (pid === process.pid || !processAlive(pid)) claim(path);
  }
  return claims;
}

/** The failures in a claimed spool, in the order they were noted. */
export function readClaim(claimed: string): SpooledFailure[] {
  return readFileSync(claimed, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      let f: Record<string, unknown>;
      try {
        f = JSON.parse(line) as Record<string, unknown>;
      } catch {
        f = { error: `unreadable spool line: ${line.slice(0, 200)}` };
      }
      return {
        failed_at: typeof f.failed_at === 'string' ? f.failed_at : null,
        event_type: typeof f.event_type === 'string' ? f.event_type : 'unknown',
        failed_command_id: typeof f.failed_command_id === 'string' ? f.failed_command_id : null,
        error: typeof f.error === 'string' ? f.error : 'unknown',
        pid: typeof f.pid === 'number' && Number.isSafeInteger(f.pid) ? f.pid : -1,
        event: f.event,
      };
    });
}

/** A claim recorded: gone. */
export function releaseClaim(claimed: string): void {
  unlinkSync(claimed);
}

/**
 * A claim not recorded (the lock is held, the disk is full): its lines go back to the spool for
 * the next writer, rather than stay under this process's claim.
 */
export function returnClaim(stateDir: string, claimed: string): void {
  try {
    appendFileSync(join(stateDir, FAILURE_SPOOL), readFileSync(claimed), { mode: 0o600 });
    unlinkSync(claimed);
  } catch {
    /* left claimed: adopted once this process is gone */
  }
}

/** Move what was spooled in the temporary directory into the state directory's spool. */
function adoptFallbackSpool(fallback: string, spool: string): void {
  if (!existsSync(fallback)) return;
  const claimed = `${fallback}.${process.pid}.adopting`;
  try {
    renameSync(fallback, claimed);
  } catch {
    return;
  }
  let lines: Buffer;
  try {
    lines = readFileSync(claimed);
  } catch {
    return;
  }
  for (const target of [spool, fallback]) {
    try {
      // appended, not renamed back: a writer may have spooled anew meanwhile
      appendFileSync(target, lines, { mode: 0o600 });
      unlinkSync(claimed);
      return;
    } catch {
      /* the state directory is still unwritable: back where it was */
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
