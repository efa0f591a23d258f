import { ExitCode, GateError, openStoreForReading, usageError } from '../engine/index.js';
import { COMMON_OPTIONS, bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import { readRecordingFile } from './recording.js';

const HELP = `Usage: policy-gate play COMMAND_ID [--speed N] [--no-timing]

Replay the terminal output of a command run through \`exec\`, from its asciicast v2 recording
(the file also plays in asciinema: asciinema play FILE). The recording's SHA-256 is checked
against the one in the audit trail first; a recording that does not match is not played.

Options:
  --speed N         play N times faster (default 1)
  --no-timing       print the output at once, without the original pauses
  --path            print the recording's path instead of playing it
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  -h, --help        show this help

Exit codes: 0 played · 2 usage error, no recording, or unreadable store · 4 the recording
does not match its SHA-256 in the trail
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  speed: { type: 'string' },
  'no-timing': { type: 'boolean' },
  path: { type: 'boolean' },
} as const;

export const command = defineCommand({ name: 'play', help: HELP, options: OPTIONS, operands: ['COMMAND_ID'], run });

async function run(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const speedText = str(p, 'speed');
  const speed = speedText === undefined ? 1 : Number(speedText);
  if (!Number.isFinite(speed) || speed <= 0)
    throw usageError(`--speed expects a number greater than 0, got ${JSON.stringify(speedText)}`);
  const loc = locations(p, io);
  const store = await openStoreForReading(loc);
  let record;
  try {
    record = await store.command(id);
  } finally {
    await store.close();
  }
  if (!record) throw new GateError('not-found', `no command ${id} in the audit trail ${loc.store}`);
  const { path, bytes } = readRecordingFile(record, loc.state);
  if (bool(p, 'path')) {
    io.stdout.write(`${path}\n`);
    return ExitCode.Allowed;
  }
  const lines = bytes
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  const timing = !bool(p, 'no-timing');
  let last = 0;
  for (const line of lines.slice(1)) {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      throw new GateError('input', `the recording ${path} is not asciicast v2: a line is not JSON`);
    }
    if (!Array.isArray(event) || typeof event[0] !== 'number' || event[1] !== 'o' || typeof event[2] !== 'string')
      continue;
    if (timing) {
      const wait = Math.min(5000, ((event[0] as number) - last) * 1000) / speed;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      last = event[0] as number;
    }
    io.stdout.write(event[2] as string);
  }
  return ExitCode.Allowed;
}
