/**
 * One error type for everything the gate refuses to do. Each error carries its own outcome (a
 * stable code, the exit code the CLI must use and an optional hint), so a single handler at the
 * entry point can render it. Errors are data: `toJSON()` is what `--json` prints.
 */
import { ExitCode } from './exit-codes.js';

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  rule?: string;
}

export type GateErrorCode =
  | 'usage'
  | 'input'
  | 'policy-invalid'
  | 'policy-example-failed'
  | 'store-unavailable'
  | 'store-write-failed'
  | 'store-corrupt'
  | 'store-tampered'
  | 'not-found'
  | 'internal';

export class GateError extends Error {
  readonly code: GateErrorCode;
  readonly exitCode: number;
  readonly hint: string | undefined;
  readonly location: ErrorLocation | undefined;

  constructor(
    code: GateErrorCode,
    message: string,
    options: { exitCode?: number; hint?: string; location?: ErrorLocation; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GateError';
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'internal' ? ExitCode.Internal : ExitCode.Usage);
    this.hint = options.hint;
    this.location = options.location;
  }

  /** `file:line: rule: message` when a location is known, else the message. */
  get oneLine(): string {
    const loc = this.location;
    if (!loc) return this.message;
    const where = [loc.file, loc.line, loc.column].filter((p) => p !== undefined).join(':');
    const rule = loc.rule ? `rule ${loc.rule}: ` : '';
    return where ? `${where}: ${rule}${this.message}` : `${rule}${this.message}`;
  }

  toJSON(): { code: string; message: string; location?: ErrorLocation; hint?: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

export function usageError(message: string, hint?: string): GateError {
  return new GateError('usage', message, hint === undefined ? {} : { hint });
}

export function describeCause(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The SQLite result code of an error from the driver (`SQLITE_BUSY`, `SQLITE_CORRUPT` …), or null. */
export function sqliteCode(err: unknown): string | null {
  const code = err instanceof Error && 'code' in err ? (err as { code: unknown }).code : null;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

/** A damaged database file: its pages or header are not what SQLite wrote. */
export function isCorruption(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== null && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * What an error from the SQLite driver means to the gate: a damaged store, or one it cannot
 * use (locked, full, read-only, unreadable). Either way the command must not run: exit 2, with
 * one clear line, never an internal error. Null for errors that do not come from SQLite.
 */
export function storeError(err: unknown, location = 'the audit store'): GateError | null {
  if (err instanceof GateError) return err;
  const code = sqliteCode(err);
  if (code === null) return null;
  if (isCorruption(err)) {
    return new GateError('store-corrupt', `${location} is corrupted (${code}: ${describeCause(err)})`, {
      cause: err,
      hint: 'the command must not run; run `policy-gate verify` to find the first bad page, and restore the store from a copy',
    });
  }
  return new GateError('store-unavailable', `${location}: ${describeCause(err)} (${code})`, {
    cause: err,
    hint: 'the command must not run',
  });
}
