/**
 * The integrity probe at open, cheap when nothing happened: the state the last gate writer left
 * the main database file in is noted beside it; when something else wrote the file since (or a
 * day has passed, or there is no note), a writer runs `PRAGMA quick_check` before writing.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GateError } from '../../util/errors.js';

/** A full `PRAGMA quick_check` at least this often, even when the file looks untouched. */
const QUICK_CHECK_INTERVAL_MS = 24 * 3600_000;

/** What identifies the state of the main database file: it changes whenever anything writes it. */
function fileStamp(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

interface ProbeNote {
  readonly stamp: string;
  readonly checked_at: number;
  /** A check found the file damaged: every writer checks in full until one finds it whole. */
  readonly corrupt?: boolean;
}

const probeFile = (path: string): string => join(dirname(path), `.${basename(path)}.probe`);

export function readProbe(path: string): ProbeNote | null {
  try {
    const note = JSON.parse(readFileSync(probeFile(path), 'utf8')) as ProbeNote;
    return typeof note.stamp === 'string' && typeof note.checked_at === 'number' ? note : null;
  } catch {
    return null;
  }
}

/**
 * Note the main file's state as this writer leaves it. In WAL mode the gate writes the main
 * file only when it merges the log (at the latest when its last connection closes), so a
 * different state at the next open means the file was written by something else.
 */
export function noteProbe(path: string, checkedAt: number): void {
  try {
    writeFileSync(probeFile(path), JSON.stringify({ stamp: fileStamp(path), checked_at: checkedAt }), { mode: 0o600 });
  } catch {
    /* the next writer checks the whole file instead */
  }
}

/**
 * The integrity probe at open, cheap when nothing happened: when the main database file was
 * written by something other than the gate since a gate writer last closed it (or a day has
 * passed, or there is no note), run `PRAGMA quick_check` over the whole file before writing.
 */
export function probeIntegrity(db: BetterSqlite3.Database, path: string): void {
  const note = readProbe(path);
  const now = Date.now();
  if (
    note &&
    !note.corrupt &&
    note.stamp === fileStamp(path) &&
    now - note.checked_at < QUICK_CHECK_INTERVAL_MS &&
    now >= note.checked_at
  )
    return;
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const result = rows.map((r) => r.quick_check).join('; ');
  if (result !== 'ok') {
    try {
      writeFileSync(probeFile(path), JSON.stringify({ stamp: fileStamp(path), checked_at: now, corrupt: true }), {
        mode: 0o600,
      });
    } catch {
      /* every writer checks in full anyway while the file stays as it is */
    }
    throw new GateError(
      'store-corrupt',
      `audit store ${path} is corrupted: PRAGMA quick_check: ${result.slice(0, 300)}`,
      {
        hint: 'the command must not run; run `policy-gate verify` to find the first bad page, and restore the store from a copy',
      },
    );
  }
  noteProbe(path, now);
}
