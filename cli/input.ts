import { createHash } from 'node:crypto';
import { DEFAULT_MAX_COMMAND_BYTES, usageError, type TruncatedInput } from '../engine/index.js';
import { joinArgv } from './args.js';
import { commandText } from './stdin-text.js';
import type { CliIo } from './io.js';

export interface CommandInput {
  readonly text: string;
  readonly invalidUtf8: boolean;
  /**
   * Set when the input was larger than the limit: `text` is then only its first bytes, and
   * this says how large the whole was and what it hashed to.
   */
  readonly truncated?: TruncatedInput;
}

/** Standard input is read at most to here even to measure it: what follows is not hashed. */
const READ_CEILING = 1024 ** 3;
/** How much of an input over the limit is kept (and shown to a reviewer). */
const KEPT_PREFIX = 4096;

/**
 * The whole of standard input as one command; trailing newlines are not part of it. At most
 * `maxBytes` are kept in memory: a larger input is read on only to be counted and hashed
 * (memory stays flat), and its first bytes stand for it.
 */
export async function readCommand(io: CliIo, maxBytes = DEFAULT_MAX_COMMAND_BYTES): Promise<CommandInput> {
  if (io.stdinIsTTY)
    throw usageError('no command: pipe it on standard input or give it after --', 'see: policy-gate check --help');
  const { kept, total, sha256, complete } = await readBounded(io.stdin, maxBytes, READ_CEILING);
  if (total > maxBytes) {
    let end = Math.min(KEPT_PREFIX, kept.length);
    while (end > 0 && end < kept.length && (kept[end]! & 0xc0) === 0x80) end--; // a whole character
    const prefix = new TextDecoder('utf-8').decode(kept.subarray(0, end));
    return { text: prefix, invalidUtf8: false, truncated: { bytes: total, sha256, complete, limit: maxBytes } };
  }
  const { text, invalidUtf8 } = commandText(kept);
  if (text.trim() === '') throw usageError('no command: standard input was empty', 'see: policy-gate check --help');
  return { text, invalidUtf8 };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A command that arrived as text inside another document (a hook's JSON payload): held to the
 * same size limit as standard input, and marked invalid when it holds a lone surrogate, which
 * no UTF-8 byte string decodes to.
 */
export function commandFromText(text: string, maxBytes = DEFAULT_MAX_COMMAND_BYTES): CommandInput {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > maxBytes) {
    let end = Math.min(KEPT_PREFIX, bytes.length);
    while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const prefix = bytes.subarray(0, end).toString('utf8');
    return {
      text: prefix,
      invalidUtf8: false,
      truncated: { bytes: bytes.length, sha256, complete: true, limit: maxBytes },
    };
  }
  return { text, invalidUtf8: LONE_SURROGATE.test(text) };
}

/**
 * The command given after `--`: one word is a command line, several an argv (quoted for you).
 * Node decodes argv as UTF-8 with U+FFFD for invalid bytes, which would record and judge text
 * the agent does not run: when a word holds U+FFFD, the raw bytes (io.rawArgv) decide, and a
 * word that is not valid UTF-8 marks the command invalid, exactly as standard input does.
 * Without raw bytes to look at, a U+FFFD counts as invalid (fail closed).
 */
export function commandFromArgv(rest: readonly string[], io: CliIo): CommandInput {
  const text = rest.length === 1 ? rest[0]! : joinArgv(rest);
  return { text, invalidUtf8: argvInvalidUtf8(rest, io) };
}

/**
 * Whether the last words of the process's arguments, `tail`, were not all valid UTF-8 as
 * received (see commandFromArgv).
 */
export function argvInvalidUtf8(tail: readonly string[], io: CliIo): boolean {
  if (!tail.some((w) => w.includes('\ufffd'))) return false;
  const raw = io.rawArgv?.() ?? null;
  if (raw === null || raw.length < tail.length) return true;
  const words = raw.slice(raw.length - tail.length);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < words.length; i++) {
    try {
      if (decoder.decode(words[i]) !== tail[i]) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** Keep the first `keep` bytes (and one more, to tell); count and hash up to `ceiling`. */
async function readBounded(
  input: AsyncIterable<Buffer | string>,
  keep: number,
  ceiling: number,
): Promise<{ kept: Buffer; total: number; sha256: string; complete: boolean }> {
  const chunks: Buffer[] = [];
  let held = 0;
  let total = 0;
  let complete = true;
  const hash = createHash('sha256');
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const room = Math.max(0, keep + 1 - held);
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      chunks.push(Buffer.from(part)); // a copy: the stream may reuse its buffer
      held += part.length;
    }
    const counted = Math.min(chunk.length, ceiling - total);
    hash.update(counted === chunk.length ? chunk : chunk.subarray(0, counted));
    total += counted;
    if (total >= ceiling) {
      complete = false;
      break;
    }
  }
  return { kept: Buffer.concat(chunks), total, sha256: hash.digest('hex'), complete };
}
