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
