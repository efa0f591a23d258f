/**
 * Where a proposed whitelist rule goes: appended to a file of the policy's whitelist/ (keeping
 * its comments), and/or committed on a new Git branch for a pull request, leaving the work tree
 * and the current branch untouched.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { WhitelistRuleDefinition } from '../policy/types.js';
import { GateError } from '../util/errors.js';
import { commitFileOnNewBranch, findRepository, git } from '../util/git.js';
import { appendRules } from './whitelist-file.js';

/** The rules as the YAML a reviewer reads (the list items, without the `whitelist:` line). */
export function proposalYaml(definitions: readonly WhitelistRuleDefinition[]): string {
  return appendRules(null, definitions).split('\n').slice(1).join('\n');
}

/** Append the rules to `whitelist/<file>` of the policy directory; returns the path written. */
export function writeProposal(
  policyDir: string,
  file: string,
  definitions: readonly WhitelistRuleDefinition[],
): string {
  const target = join(policyDir, 'whitelist', file);
  writeFileSync(target, appendRules(existsSync(target) ? readFileSync(target, 'utf8') : null, definitions));
  return target;
}

/**
 * Commit the rules, appended to `whitelist/<file>` as it is at HEAD, on a new branch `name`
 * (the work tree and the current branch are not touched).
 */
export function branchProposal(
  policyDir: string,
  file: string,
  name: string,
  definitions: readonly WhitelistRuleDefinition[],
  commandId: string,
): { name: string; commit: string } {
  const repo = findRepository(policyDir);
  if (!repo) throw new GateError('usage', `--branch: the policy directory ${policyDir} is not in a Git work tree`);
  const path = relative(repo.root, join(policyDir, 'whitelist', file));
  let base: string | null = null;
  try {
    base = git(repo.root, ['show', `HEAD:${path}`]);
  } catch {
    base = null; // a new file
  }
  const ids = definitions.map((d) => d.id).join(', ');
  const message =
    `whitelist: add ${ids}\n\nProposed by policy-gate from command ${commandId}, approved by a reviewer.\n` +
    'Review the pattern and the replay before merging.\n';
  return { name, commit: commitFileOnNewBranch(repo, name, path, appendRules(base, definitions), message) };
}

/** Who owns a proposed rule unless told: the policy repository's Git user.email, else the OS user. */
export function defaultOwner(policyDir: string, env: Readonly<Record<string, string | undefined>>): string {
  const repo = findRepository(policyDir);
  if (repo) {
    try {
      const email = git(repo.root, ['config', 'user.email']).trim();
      if (email) return email;
    } catch {
      /* not configured */
    }
  }
  return env.USER ?? env.LOGNAME ?? 'unknown';
}
