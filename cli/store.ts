import { ExitCode, copyStore, migrateStore, resolveLocations, usageError } from '../engine/index.js';
import { bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { home, locations } from './context.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate store migrate [--store URL] [--grant ROLE]
       policy-gate store copy --from STORE --to STORE [--json]

Administer an audit store.

migrate creates or upgrades a PostgreSQL trail's schema (policy_gate) to this gate's version:
run it once as the schema's owner before the first gate or replica uses the database, and again
after upgrading the gate. It refuses a schema newer than this gate knows and changes nothing
then. --grant ROLE lets the role the replicas connect as read and append, never update or
delete (the append-only triggers are a second line). A SQLite store migrates itself when opened.

copy moves a trail from one store to another byte for byte: every event with its stored bytes,
leaf and chain value, every checkpoint as signed. The target must be empty (a PostgreSQL target
is migrated first) or hold a prefix of the source: an interrupted copy resumes. Each event is
re-hashed on the way and a source that does not chain is refused. The gate's key and pinned
keys are carried into the target's state directory when it has none, so that checkpoints verify
there and later ones are signed by the same key. Afterwards \`policy-gate verify\` passes on both
with the same chain head.

A store is a SQLite file (PATH or sqlite:PATH) or a PostgreSQL URL:
  postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=verify-full&sslrootcert=CA.pem]
(PGPASSWORD and ~/.pgpass are read when the URL has no password). A PostgreSQL trail keeps the
gate's key, spool and cache in POLICY_GATE_STATE, else ~/.policy-gate/postgres-<trail>/.

Options:
  --store URL       the store to migrate (env POLICY_GATE_STORE, else gate.yaml store:)
  --policy DIR      the policy whose gate.yaml names the store (env POLICY_GATE_POLICY)
  --grant ROLE      migrate: grant ROLE read and append on the trail
  --from STORE      copy: the trail to copy
  --to STORE        copy: where to copy it
  --json            copy/migrate: print the result as JSON
  -h, --help        show this help

Exit codes: 0 done · 2 usage error, or the store could not be read or written (nothing half-done
is left behind that a rerun does not finish)
`;

const OPTIONS = {
  store: { type: 'string' },
  policy: { type: 'string' },
  grant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const command = defineCommand({
  name: 'store',
  help: HELP,
  options: OPTIONS,
  subcommands: { migrate: { run: migrate }, copy: { run: copy } },
});

async function migrate(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  const r = await migrateStore(loc, str(p, 'grant'));
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify({ store: loc.store, ...r })}\n`);
  else if (r.backend === 'sqlite')
    io.stdout.write(`${loc.store}: a SQLite store is migrated when opened; it is current\n`);
  else
    io.stdout.write(
      r.from === r.to
        ? `${loc.store}: schema at version ${r.to}, current\n`
        : `${loc.store}: schema migrated from version ${r.from} to ${r.to}\n`,
    );
  return ExitCode.Allowed;
}

async function copy(p: Parsed, io: CliIo): Promise<number> {
  const from = str(p, 'from');
  const to = str(p, 'to');
  if (from === undefined || to === undefined) throw usageError('store copy needs --from STORE and --to STORE');
  const at = (store: string) =>
    resolveLocations({ store, cwd: io.cwd, env: io.env, home: home(io), uid: process.getuid?.() });
  const source = at(from);
  const target = at(to);
  const r = await copyStore(source, target);
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify({ from: source.store, to: target.store, ...r })}\n`);
  else
    io.stdout.write(
      `copied ${r.copied} event(s) and ${r.checkpoints} checkpoint(s) from ${source.store} to ${target.store}` +
        ` (${r.events} in all)${r.keys.length > 0 ? `; carried ${r.keys.join(' and ')} into ${target.state}` : ''}\n` +
        `verify both: policy-gate verify --store ${source.store} && policy-gate verify --store ${target.store}\n`,
    );
  return ExitCode.Allowed;
}
