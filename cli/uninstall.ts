/** `policy-gate uninstall claude|codex|gemini`: remove the hook `install` wrote, after a backup. */
import { existsSync, readFileSync } from 'node:fs';
import type { Parsed } from './args.js';
import { bool } from './args.js';
import { defineCommand } from './command.js';
import { home } from './context.js';
import { agentNamed } from './hooks/agents.js';
import { gateHooks, settingsPath, withoutGateHook } from './hooks/settings.js';
import { replaceFile, scopeOf } from './install.js';
import type { CliIo } from './io.js';

const HELP = `Usage: policy-gate uninstall claude|codex|gemini [--project | --user] [--dry-run]

Remove the policy-gate hook from the agent's settings (what \`policy-gate install\` wrote, and
nothing else), after a backup of the file. The agent's commands are no longer gated.

Options:
  --project     this project's settings, in the current directory (default)
  --user        the user's settings
  --dry-run     print the new settings; change nothing
  -h, --help    show this help

Exit codes: 0 removed (or there was none) · 2 usage error or unreadable settings
`;

const OPTIONS = { project: { type: 'boolean' }, user: { type: 'boolean' }, 'dry-run': { type: 'boolean' } } as const;

export const command = defineCommand({ name: 'uninstall', help: HELP, options: OPTIONS, operands: ['AGENT'], run });

async function run(p: Parsed, io: CliIo): Promise<number> {
  const agent = agentNamed(p.positionals[0]);
  const path = settingsPath(agent, scopeOf(p), { cwd: io.cwd, home: home(io), env: io.env });
  const before = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (before === null || gateHooks(agent, path, before).length === 0) {
    io.stdout.write(`${agent.title}: no policy-gate hook in ${path}; nothing changed\n`);
    return 0;
  }
  const after = withoutGateHook(agent, path, before);
  if (bool(p, 'dry-run')) {
    io.stdout.write(after);
    return 0;
  }
  const backup = replaceFile(path, after, new Date());
  io.stdout.write(
    `${agent.title}: removed the policy-gate hook from ${path}\n  previous file kept as ${backup}\n` +
      `  ${agent.title}'s shell commands are no longer checked by policy-gate\n`,
  );
  return 0;
}
