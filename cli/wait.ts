import { exitCodeFor, openGate, requireStore } from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseSeconds, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations } from './context.js';
import type { CliIo } from './io.js';
import { renderStoredRecord } from './render/record.js';
import { style } from './render/style.js';
import { waitNotice } from './wait-notice.js';

const HELP = `Usage: policy-gate wait COMMAND_ID [--timeout SECS] [--quiet] [--json]

Wait again for the decision on a command submitted with \`check --no-wait\` (or whose waiting
check was interrupted), until its deadline or --timeout, whichever comes first, and answer as
check does. A command past its deadline with no decision is recorded as timed out. While it
waits, and only when stderr is a terminal, stderr shows the command's id, risk, why it is held,
where to review it and a countdown to the end of the wait (cleared when the wait ends).

Options:
  --timeout SECS    stop waiting after this long (the command stays pending: exit 3)
  --quiet           print only the result: no notice and countdown while it waits
  --json            print the record as one JSON object
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  --policy DIR      policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  -h, --help        show this help

Exit codes: 0 approved or whitelisted (run it) · 1 denied or timed out (do not run) ·
2 usage error, unknown command or store error · 3 still pending (--timeout ended the wait)

Examples:
  id=$(policy-gate check --json --no-wait -- npm publish | jq -r .command_id)
  policy-gate wait "$id" && npm publish
`;

const OPTIONS = { ...COMMON_OPTIONS, timeout: { type: 'string' }, quiet: { type: 'boolean' } } as const;

export const command = defineCommand({ name: 'wait', help: HELP, options: OPTIONS, operands: ['COMMAND_ID'], run });

async function run(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const timeout = parseSeconds(str(p, 'timeout'), '--timeout');
  const loc = locations(p, io);
  // waiting never creates a store: a missing one holds no command to wait for
  requireStore(loc);
  const notice = waitNotice(io, { quiet: bool(p, 'quiet') });
  const gate = await openGate(loc, {
    home: home(io),
    warn: (message) => notice.say(`policy-gate: ${message}\n`),
  });
  try {
    const record = await gate.resume(id, {
      ...(timeout !== undefined ? { limitMs: Math.round(timeout * 1000) } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(notice.onHeld ? { onHeld: notice.onHeld } : {}),
    });
    notice.stop();
    if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(record)}\n`);
    else io.stdout.write(renderStoredRecord(style(io.stdout, io.env), record, new Date()));
    return exitCodeFor(record.decision);
  } finally {
    notice.stop();
    await gate.close();
  }
}
