import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ExitCode, GateError, usageError } from '../engine/index.js';
import { prepareRotation, requireStore } from '../engine/index.js';
import { COMMON_OPTIONS, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStore, policyFor } from './context.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate checkpoint export [--to FILE | --exec CMD] [--store PATH]
       policy-gate checkpoint rotate-key [--store PATH]

Sign a checkpoint of the audit chain as it is now (the gate's Ed25519 key, C2SP signed-note
format) and copy it off this machine: to a file on other storage (--to), or to a command that
gets it on standard input (--exec, run by sh -c: a git commit and push to another repository,
an upload …). Without either, print it. Later, \`policy-gate verify --against FILE\` proves the
trail still extends it: nothing was removed, rolled back or rewritten, even by someone holding
the gate's key.

A checkpoint's signature protects against anyone without the key. Against an agent that runs
as the gate's user (and so can read the key), only checkpoints kept where it cannot write still
count: export them regularly, e.g. from cron.

rotate-key replaces the gate's checkpoint key: a KEY_ROTATED event signed by the old key and
the new one goes into the trail, the old key file is kept aside (gate.key.<id>.retired), the
new verifier key is pinned next to the old one, and a checkpoint is signed with the new key.
Checkpoints signed before stay verifiable; verify trusts the new key because the old one
signed it in. Pin the new key wherever you keep the old one (printed on stdout).

Options:
  --to FILE         write the checkpoint to FILE
  --exec CMD        run CMD with the checkpoint on standard input; fails if CMD fails
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  -h, --help        show this help

Exit codes: 0 exported · 2 usage error, empty or unwritable store, or the command failed
`;

const OPTIONS = { ...COMMON_OPTIONS, to: { type: 'string' }, exec: { type: 'string' } } as const;

export const command = defineCommand({
  name: 'checkpoint',
  help: HELP,
  options: OPTIONS,
  subcommands: { export: { run: exportCheckpoint }, 'rotate-key': { run: rotateKey } },
});

async function exportCheckpoint(p: Parsed, io: CliIo): Promise<number> {
  const to = str(p, 'to');
  const exec = str(p, 'exec');
  if (to !== undefined && exec !== undefined) throw usageError('give --to or --exec, not both');
  const loc = locations(p, io);
  requireStore(loc); // before the policy's cache is written next to it
  const store = await openStore(loc, {
    policy: await policyFor(loc),
    warn: (message) => io.stderr.write(`policy-gate: ${message}\n`),
    create: false,
  });
  let note: string;
  try {
    const cp = (await store.checkpoint(new Date())) ?? (await store.latestCheckpoint());
    if (!cp) throw new GateError('usage', `the audit store ${store.location} is empty: there is nothing to checkpoint`);
    note = cp.note;
  } finally {
    await store.close();
  }
  if (to !== undefined) {
    try {
      writeFileSync(isAbsolute(to) ? to : join(io.cwd, to), note);
    } catch (err) {
      throw usageError(`cannot write ${to}: ${(err as Error).message}`);
    }
    io.stderr.write(`policy-gate: checkpoint written to ${to}\n`);
  } else if (exec !== undefined) {
    const r = spawnSync('sh', ['-c', exec], {
      cwd: io.cwd,
      input: note,
      stdio: ['pipe', 'inherit', 'inherit'],
      env: io.env as NodeJS.ProcessEnv,
    });
    // the command's own exit status decides (one that exits early may leave its input unread: EPIPE)
    if (r.status !== 0) {
      const why =
        r.status !== null
          ? `exit ${r.status}`
          : r.signal
            ? `killed by ${r.signal}`
            : (r.error?.message ?? 'it did not run');
      throw new GateError('usage', `the export command failed (${why}): the checkpoint was not copied`);
    }
  } else {
    io.stdout.write(note);
  }
  return ExitCode.Allowed;
}

async function rotateKey(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  requireStore(loc); // a key is rotated in a store that exists, never made for one that does not
  const policy = await policyFor(loc);
  const dir = loc.state;
  const at = new Date().toISOString();
  const rotation = prepareRotation(dir, at);
  const store = await openStore(loc, { create: false });
  try {
    await store.record({
      type: 'KEY_ROTATED',
      command_id: null,
      at,
      old_key: rotation.old.text,
      new_key: rotation.next.text,
      statement: rotation.statement,
      old_signature: rotation.old.sign(rotation.statement),
      new_signature: rotation.next.sign(rotation.statement),
    });
  } finally {
    await store.close();
  }
  rotation.install();
  const after = await openStore(loc, { policy, warn: (message) => io.stderr.write(`policy-gate: ${message}\n`) });
  try {
    await after.checkpoint(new Date());
  } finally {
    await after.close();
  }
  io.stdout.write(`${rotation.next.text}\n`);
  io.stderr.write(
    `policy-gate: checkpoint key rotated: ${rotation.old.name} ${rotation.old.keyId.toString('hex')} → ` +
      `${rotation.next.keyId.toString('hex')}; pin the new verifier key (above) where you keep the old one\n`,
  );
  return ExitCode.Allowed;
}
