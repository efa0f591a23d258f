/**
 * Who may decide: the reviewers reviewers.yaml lists, with their SSH keys — the working copy's,
 * or with gitops.require_reviewed the one merged into the protected ref.
 */
import { join, relative } from 'node:path';
import { GateError } from '../util/errors.js';
import { findRepository, git } from '../util/git.js';
import { parsePublicKey, type Ed25519PublicKey } from '../util/sshsig.js';
import { parseYaml } from '../util/yaml.js';
import type { ReviewerDefinition } from '../policy/types.js';
import type { Policy } from './policy.js';

export interface Reviewer {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly key: Ed25519PublicKey;
  readonly agents: readonly string[];
}

/** The reviewers of a policy, by id (keys were validated when the policy loaded). */
export function reviewersOf(policy: Policy): Map<string, Reviewer> {
  return new Map(
    policy.source.reviewers.map((r) => [
      r.id,
      { id: r.id, name: r.name, roles: r.roles, key: parsePublicKey(r.key), agents: r.agents ?? [] },
    ]),
  );
}

/**
 * The reviewers whose decisions count. With gitops.require_reviewed, that is reviewers.yaml as
 * merged into the protected ref: a key added in the working tree, or on a branch nobody
 * reviewed, grants nothing. Entries there that do not parse are left out (the protected
 * version passed its own review and CI; the gate does not guess).
 */
export function effectiveReviewers(policy: Policy): { reviewers: Map<string, Reviewer>; source: string } {
  const gitops = policy.gate.gitops;
  if (!gitops?.require_reviewed) return { reviewers: reviewersOf(policy), source: 'reviewers.yaml' };
  const repo = findRepository(policy.dir);
  if (!repo || !gitops.protected_ref) {
    throw new GateError(
      'policy-invalid',
      'gitops.require_reviewed is on, but the policy is not in a Git work tree with a protected_ref: ' +
        'no reviewer can be shown to be reviewed',
      {
        location: { file: 'gate.yaml' },
      },
    );
  }
  const path = relative(repo.root, join(policy.dir, 'reviewers.yaml'));
  const source = `reviewers.yaml at ${gitops.protected_ref}`;
  let text: string;
  try {
    text = git(repo.root, ['show', `${gitops.protected_ref}:${path}`]);
  } catch {
    return { reviewers: new Map(), source };
  }
  return { reviewers: reviewersFromYaml(text), source };
}

/**
 * The reviewers a reviewers.yaml text lists (as read from Git, where it passed its own review
 * and CI): entries that do not parse, or whose key is unusable, are left out; the first of a
 * duplicated id wins. Not a validation: the policy loader validates the working copy.
 */
export function reviewersFromYaml(text: string): Map<string, Reviewer> {
  let doc: unknown;
  try {
    doc = parseYaml(text, 'reviewers.yaml').data;
  } catch {
    return new Map();
  }
  const list = (doc as { reviewers?: unknown } | null)?.reviewers;
  const reviewers = new Map<string, Reviewer>();
  for (const r of Array.isArray(list) ? (list as Partial<ReviewerDefinition>[]) : []) {
    if (typeof r?.id !== 'string' || typeof r.key !== 'string' || !Array.isArray(r.roles) || reviewers.has(r.id))
      continue;
    try {
      reviewers.set(r.id, {
        id: r.id,
        name: String(r.name ?? r.id),
        roles: r.roles.map(String),
        key: parsePublicKey(r.key),
        agents: Array.isArray(r.agents) ? r.agents.map(String) : [],
      });
    } catch {
      /* not a usable key: left out */
    }
  }
  return reviewers;
}
