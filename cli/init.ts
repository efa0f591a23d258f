import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ExitCode, GateError, findRepository, shippedPolicyDir, usageError } from '../engine/index.js';
import { scaffold } from '../engine/authoring/index.js';
import { bool, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate init [DIR] [options]

Scaffold a policy repository in DIR (default: the working directory) that a team changes
through pull requests:

  policies/gate.yaml             the shipped settings, with gitops.require_reviewed: true
  policies/rules/                the shipped risk rules
  policies/whitelist/            a starter whitelist (read-only git, files, toolchains)
  policies/tests/                regression cases
  policies/schema/               JSON Schemas for editors
  .github/CODEOWNERS             review of policies/ and policies/whitelist/ by the owners
  .github/workflows/policy.yml   policy lint, policy test and policy diff on pull requests
  README.md, .gitignore

Existing files are never overwritten unless --force.

Options:
  --owner OWNER         a CODEOWNERS owner, e.g. @acme/security (repeatable; default
                        @policy-owners, a placeholder to replace)
  --protected-ref REF   the ref whose history counts as reviewed (default origin/main)
  --gate-source SPEC    what the workflow installs policy-gate from with npm install -g: a
                        pinned tarball URL, git+https://HOST/REPO.git#COMMIT or a registry
                        version. Default: none, and the workflow's install step fails saying
                        so (it never skips the checks) until POLICY_GATE_SOURCE is set in it
  --force               overwrite existing files
  --json                print {dir, files} as JSON
  -h, --help

Exit codes: 0 created · 2 a file exists (without --force) or a usage error

Example:
  mkdir agent-policy && cd agent-policy && git init -b main && policy-gate init --owner @acme/security
`;

const OPTIONS = {
  owner: { type: 'string', multiple: true },
  'protected-ref': { type: 'string' },
  'gate-source': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const command = defineCommand({ name: 'init', help: HELP, options: OPTIONS, operands: ['[DIR]'], run });

async function run(p: Parsed, io: CliIo): Promise<number> {
  const dir = resolve(io.cwd, p.positionals[0] ?? '.');
  const owners = (p.values.owner as string[] | undefined) ?? ['@policy-owners'];
  for (const o of owners)
    if (!/^@[\w.-]+(\/[\w.-]+)?$|^[^@\s]+@[^@\s]+$/.test(o))
      throw usageError(`--owner expects @user, @org/team or an email, got ${JSON.stringify(o)}`);
  const protectedRef = str(p, 'protected-ref') ?? 'origin/main';
  const gateSource = str(p, 'gate-source') ?? null;
  if (gateSource !== null && !/^\S+$/.test(gateSource))
    throw usageError(`--gate-source expects one npm install spec, got ${JSON.stringify(gateSource)}`);
  const files = scaffold({ from: shippedPolicyDir(), owners, protectedRef, gateSource });
  const existing = files.filter((f) => existsSync(join(dir, f.path)));
  if (existing.length > 0 && !bool(p, 'force')) {
    throw new GateError('usage', `${existing.length} file(s) already exist in ${dir}, first ${existing[0]!.path}`, {
      hint: 'nothing was written; pass --force to overwrite them',
    });
  }
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ dir, files: files.map((f) => f.path) })}\n`);
    return ExitCode.Allowed;
  }
  const where = relative(io.cwd, dir) || '.';
  const policies = files.filter((f) => f.path.startsWith('policies')).length;
  io.stdout.write(
    `created ${files.length} files in ${where}: policies/ (${policies} files), ` +
      '.github/CODEOWNERS, .github/workflows/policy.yml, README.md\n',
  );
  const repo = findRepository(dir);
  io.stdout.write('next:\n');
  if (!repo) io.stdout.write(`  git -C ${where} init -b main\n`);
  io.stdout.write(
    `  git -C ${where} add -A && git -C ${where} commit -m 'policy: initial policies from policy-gate init'\n`,
  );
  io.stdout.write(
    `  push to ${protectedRef.replace(/^origin\//, 'the remote branch ')}, ` +
      `then point agents at it: policy-gate check --policy ${join(where, 'policies')}\n`,
  );
  if (owners.includes('@policy-owners'))
    io.stdout.write('  replace @policy-owners in .github/CODEOWNERS with your team\n');
  if (gateSource === null)
    io.stdout.write(
      '  set POLICY_GATE_SOURCE in .github/workflows/policy.yml (what npm install -g installs policy-gate from): ' +
        'the workflow fails until then\n',
    );
  return ExitCode.Allowed;
}
