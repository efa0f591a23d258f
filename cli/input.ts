import { usageError } from '../engine/index.js';
import { joinArgv } from './args.js';
import { readAll, type CliIo } from './io.js';

export interface CommandInput {
  readonly text: string;
  readonly invalidUtf8: boolean;
}

/** The whole of standard input as one command; trailing newlines are not part of it. */
export async function readCommand(io: CliIo): Promise<CommandInput> {
  if (io.stdinIsTTY) throw usageError('no command: pipe it on standard input or give it after --', 'see: policy-gate check --help');
  const bytes = await readAll(io.stdin);
  let text: string;
  let invalidUtf8 = false;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('utf-8').decode(bytes);
    invalidUtf8 = true;
  }
  text = text.replace(/(?:\r?\n)+$/, '');
  if (text.trim() === '') throw usageError('no command: standard input was empty', 'see: policy-gate check --help');
  return { text, invalidUtf8 };
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
  if (!rest.some((w) => w.includes('\ufffd'))) return { text, invalidUtf8: false };
  const raw = io.rawArgv?.() ?? null;
  if (raw === null || raw.length < rest.length) return { text, invalidUtf8: true };
  const words = raw.slice(raw.length - rest.length);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < words.length; i++) {
    try {
      if (decoder.decode(words[i]) !== rest[i]) return { text, invalidUtf8: true };
    } catch {
      return { text, invalidUtf8: true };
    }
  }
  return { text, invalidUtf8: false };
}
