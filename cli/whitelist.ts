import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ExitCode,
  GateError,
  findRepository,
  openStoreForReading,
  requireStore,
  shippedPolicyDir,
  usageError,
} from '../engine/index.js';
import { branchProposal, defaultOwner, propose, proposalYaml, writeProposal } from '../engine/authoring/index.js';
import { COMMON_OPTIONS, bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render/style.js';
import { oneLine } from './render/text.js';

const HELP = `Usage: policy-gate whitelist propose <command_id> [options]

Write the narrowest whitelist rule that covers a command a reviewer approved: its exact argv,
with placeholders only where you ask for them. Over-broad rules are refused (a shell or an
interpreter, bash -c, sudo, env, xargs, a program that can delete, upload or execute with no
argument fixed). A replay lists the recorded commands — denied and timed-out ones first —
that the rule would have whitelisted.

Options:
  --generalize ARG=TYPE  make argument ARG (its position, 1 = first after the program, or its
                         value) a placeholder: path, path:project, file, int, word, name,
                         branch, url (repeatable)
  --owner NAME           the rule's owner (default: git config user.email, else $USER)
  --reason TEXT          why it may run without asking (default: the approved command)
  --write                add the rule to a whitelist file in the policy directory
  --file NAME            that file, under policies/whitelist/ (default proposed.yaml)
  --branch NAME          commit the change on a new branch from HEAD, ready for a pull
                         request (the work tree and the current branch are not touched)
  --json                 print {rules, yaml, replay, written, branch} as one JSON object
  --store PATH, --policy DIR
  -h, --help

Exit codes: 0 proposed · 2 refused, not found, or a usage, policy or store error

Example:
  policy-gate whitelist propose 01JC3… --generalize 3=path:project --branch wl/prettier-check
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  generalize: { type: 'string', multiple: true },
  owner: { type: 'string' },
  reason: { type: 'string' },
  write: { type: 'boolean' },
  file: { type: 'string' },
  branch: { type: 'string' },
} as const;

export const command = defineCommand({
  name: 'whitelist',
  help: HELP,
  options: OPTIONS,
  subcommands: { propose: { operands: ['<command_id>'], run: proposeRule } },
});

async function proposeRule(p: Parsed, io: CliIo): Promise<number> {
  const commandId = p.positionals[0]!;
  const file = str(p, 'file') ?? 'proposed.yaml';
  if (!/^[A-Za-z0-9._-]+\.ya?ml$/.test(file))
    throw usageError(
      `--file must be a file name ending in .yaml under policies/whitelist/, got ${JSON.stringify(file)}`,
    );

  const loc = locations(p, io);
  if ((bool(p, 'write') || str(p, 'branch')) && loc.policy === shippedPolicyDir()) {
    throw usageError(
      '--write and --branch change a policy repository: pass --policy DIR (or POLICY_GATE_POLICY)',
      'the policies shipped with policy-gate are not edited in place; see: policy-gate init',
    );
  }
  requireStore(loc); // propose works from a recorded command: no store, nothing to propose
  const policy = await policyFor(loc);
  const store = await openStoreForReading(loc);
  let proposal;
  try {
    const record = await store.command(commandId);
    if (!record) throw new GateError('not-found', `no recorded command ${commandId} in ${loc.store}`);
    proposal = propose(record, policy, await store.commands(), {
      generalize: (p.values.generalize as string[] | undefined) ?? [],
      owner: str(p, 'owner') ?? defaultOwner(loc.policy, io.env),
      reason: str(p, 'reason') ?? (record.intent ? `${record.intent} (approved by ${record.decided_by})` : undefined),
    });
  } finally {
    await store.close();
  }
  const definitions = proposal.rules.map((r) => r.definition);
  const yamlText = proposalYaml(definitions);
  const written = bool(p, 'write') ? writeProposal(loc.policy, file, definitions) : null;
  const name = str(p, 'branch');
  const branch = name ? branchProposal(loc.policy, file, name, definitions, commandId) : null;

  if (bool(p, 'json')) {
    io.stdout.write(
      `${JSON.stringify({ rules: definitions, yaml: yamlText, replay: proposal.replay, written, branch })}\n`,
    );
    return ExitCode.Allowed;
  }
  const s = style(io.stdout, io.env);
  io.stdout.write(`${s.bold('proposed whitelist rule(s):')}\n${yamlText}\n`);
  if (proposal.replay.length === 0)
    io.stdout.write(s.dim('replay: no recorded command would have been whitelisted by it\n'));
  else {
    io.stdout.write(s.bold(`replay: ${proposal.replay.length} recorded command(s) would have been whitelisted:\n`));
    for (const r of proposal.replay) {
      const d =
        r.decision === 'denied' || r.decision === 'timed_out' ? s.red(r.decision.padEnd(10)) : r.decision.padEnd(10);
      io.stdout.write(`  ${d} ${r.submitted_at}  ${r.command_id}  ${oneLine(r.command)}\n`);
    }
  }
  if (written) io.stdout.write(`written to ${written}\n`);
  if (branch)
    io.stdout.write(
      `committed ${branch.commit.slice(0, 12)} on branch ${branch.name}: push it and open a pull request\n`,
    );
  return ExitCode.Allowed;
}
