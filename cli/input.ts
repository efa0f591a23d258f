import { usageError } from '../engine/index.js';
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
