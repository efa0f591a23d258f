import { exitCodeFor, GateError, openStoreForReading } from '../engine/index.js';
import { COMMON_OPTIONS, bool, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import { renderStoredRecord } from './render/record.js';
import { style } from './render/style.js';

const HELP = `Usage: policy-gate status COMMAND_ID [--json]

Print a recorded command's state: pending (with the time left), or its decision, who made it
and why. Nothing is written, and nothing waits.

Options:
  --json            print the record as one JSON object
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  -h, --help        show this help

Exit codes: as check: 0 approved or whitelisted · 1 denied or timed out · 3 pending ·
2 usage error, unknown command or unreadable store
`;

export const command = defineCommand({
  name: 'status',
  help: HELP,
  options: COMMON_OPTIONS,
  operands: ['COMMAND_ID'],
  run,
});

async function run(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const loc = locations(p, io);
  const store = await openStoreForReading(loc);
  let record;
  try {
    record = await store.command(id);
  } finally {
    await store.close();
  }
  if (!record)
    throw new GateError('not-found', `no command ${id} in the audit trail ${loc.store}`, {
      hint: 'see: policy-gate audit',
    });
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(record)}\n`);
  else io.stdout.write(renderStoredRecord(style(io.stdout, io.env), record, new Date()));
  return exitCodeFor(record.decision);
}
