/**
 * Argument parsing on node:util's parseArgs, with the gate's error style: a wrong flag is a
 * usage error (exit 2) that names the flag and where the help is.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../engine/util/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  /** Words after `--`. */
  readonly rest: string[] | null;
}

export function parse(command: string, args: string[], options: OptionSpec): Parsed {
  const dash = args.indexOf('--');
  const head = dash === -1 ? args : args.slice(0, dash);
  const rest = dash === -1 ? null : args.slice(dash + 1);
  try {
    const { values, positionals } = parseArgs({ args: head, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals, rest };
  } catch (err) {
    const message = (err as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/^Unknown option '(.*?)'.*/s, 'unknown option $1');
    throw usageError(message, `see: policy-gate ${command} --help`);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function parseTime(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw usageError(`${flag} expects an ISO 8601 time such as 2026-11-26T14:00:00Z, got ${JSON.stringify(value)}`);
  return new Date(t);
}

export function parseSeconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw usageError(`${flag} expects a number of seconds greater than 0, got ${JSON.stringify(value)}`);
  return n;
}

export const COMMON_OPTIONS = {
  store: { type: 'string' },
  policy: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

/** Shell-quote argv words so the command text runs exactly this argv. */
export { shellJoin as joinArgv } from '../engine/util/quote.js';
