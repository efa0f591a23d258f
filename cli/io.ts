/**
 * What a subcommand may touch of the outside world. The bin entry passes the real process;
 * tests pass buffers, so every subcommand runs in process.
 */
import { readFileSync } from 'node:fs';

export interface Output {
  write(text: string | Uint8Array): void;
  readonly isTTY?: boolean | undefined;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdinIsTTY: boolean;
  /** Standard input as a stream (`assess --jsonl` answers line by line). */
  readonly stdin: AsyncIterable<Buffer | string>;
  /** Aborted on SIGINT/SIGTERM: waiting commands stop waiting. */
  readonly signal?: AbortSignal | undefined;
  /** The process's arguments as the bytes it received (null when the system does not tell). */
  readonly rawArgv?: (() => Buffer[] | null) | undefined;
}

export function processIo(signal?: AbortSignal): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY },
    stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY },
    // process.stdin sets up a stream when first touched: only a command that reads it pays
    get stdinIsTTY() {
      return Boolean(process.stdin.isTTY);
    },
    get stdin() {
      return process.stdin;
    },
    signal,
    rawArgv,
  };
}

/** Linux keeps the exact argument bytes in /proc/self/cmdline, NUL-terminated. */
function rawArgv(): Buffer[] | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync('/proc/self/cmdline');
  } catch {
    return null;
  }
  const words: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      words.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) words.push(bytes.subarray(start));
  return words;
}

export async function readAll(input: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
