import { ExitCode, openStoreForReading, usageError } from '../engine/index.js';
import { COMMON_OPTIONS, bool, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import { renderSession } from './render/record.js';
import { style } from './render/style.js';

const HELP = `Usage: policy-gate session show SESSION_ID [--json]

The session's timeline, oldest first: each command with its risk, the decision, who or what
decided and how fast, refused review attempts, escalations, and its run through \`exec\` (exit
code, duration, the recording and its SHA-256).

Options:
  --json            print {"session", "commands": [{record, events}]} on stdout
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  -h, --help        show this help

Exit codes: 0 shown · 2 usage error, unknown session or unreadable store
`;

export const command = defineCommand({
  name: 'session',
  help: HELP,
  options: COMMON_OPTIONS,
  subcommands: { show: { operands: ['SESSION_ID'], run: show } },
});

async function show(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const loc = locations(p, io);
  const store = await openStoreForReading(loc);
  try {
    const records = await store.commands({ session: id });
    if (records.length === 0)
      throw usageError(
        `no commands recorded for session ${JSON.stringify(id)} in ${loc.store}`,
        'see: policy-gate audit',
      );
    const timeline = [];
    for (const record of records) {
      const events = (await store.commandEvents(record.command_id)).map((e) => ({
        seq: e.seq,
        type: e.type,
        at: e.at,
        leaf: e.leaf,
        body: e.body,
      }));
      timeline.push({ record, events });
    }
    if (bool(p, 'json')) {
      io.stdout.write(`${JSON.stringify({ session: id, commands: timeline })}\n`);
      return ExitCode.Allowed;
    }
    io.stdout.write(renderSession(style(io.stdout, io.env), id, timeline));
    return ExitCode.Allowed;
  } finally {
    await store.close();
  }
}
