/**
 * What the policy said at each recorded revision (reviewers and their keys, whitelist rule ids),
 * for `verify` and evidence bundles: read from Git when the policy is versioned and the
 * revision is a commit, else from the current policy when the revision is its own.
 */
import { relative } from 'node:path';
import { findRepository, loadPolicy, type PolicyAt } from '../engine/index.js';
import { parsePublicKey } from '../engine/gate/sshsig.js';
import { filesAtRef } from '../engine/whitelist/git.js';

/**
 * The policy at a revision: from Git when the policy is versioned and the revision is a commit,
 * else the current policy when the revision is its own; unknown otherwise.
 */
export async function policyProvider(dir: string): Promise<(revisions: readonly string[]) => Promise<(revision: string) => PolicyAt | null>> {
  let current: { revision: string; content: string; at: PolicyAt } | null = null;
  try {
    const policy = await loadPolicy(dir, { git: true, examples: 'report' });
    current = {
      revision: policy.revision,
      content: policy.contentRevision,
      at: {
        reviewers: new Map(policy.source.reviewers.map((r) => [r.id, { fingerprint: parsePublicKey(r.key).fingerprint, agents: r.agents ?? [] }])),
        whitelist: new Set(policy.source.whitelist.map((w) => w.id)),
        source: `the policy in ${dir}`,
      },
    };
  } catch {
    current = null;
  }
  // the revisions recorded are few: read each one from Git once, up front
  const repo = findRepository(dir);
  return async (revisions) => {
    const known = new Map<string, PolicyAt | null>();
    for (const revision of revisions) {
      if (current && (revision === current.revision || revision === current.content)) {
        known.set(revision, current.at);
        continue;
      }
      const commit = /^[0-9a-f]{40}$/.exec(revision)?.[0];
      if (!repo || !commit) {
        known.set(revision, null);
        continue;
      }
      try {
        known.set(revision, await policyFromFiles(filesAtRef(repo, commit, relative(repo.root, dir)), `the policy at ${commit.slice(0, 12)}`));
      } catch {
        known.set(revision, null);
      }
    }
    return (revision: string) => known.get(revision) ?? null;
  };
}

async function policyFromFiles(files: { path: string; content: Buffer }[], source: string): Promise<PolicyAt> {
  const { parse: parseYaml } = await import('yaml');
  const reviewers = new Map<string, { fingerprint: string; agents: string[] }>();
  const whitelist = new Set<string>();
  const list = (text: string, key: string): Record<string, unknown>[] => {
    try {
      const doc = parseYaml(text) as Record<string, unknown> | null;
      const items = doc?.[key];
      return Array.isArray(items) ? (items.filter((x) => x && typeof x === 'object') as Record<string, unknown>[]) : [];
    } catch {
      return [];
    }
  };
  for (const f of files) {
    if (f.path === 'reviewers.yaml') {
      for (const r of list(f.content.toString('utf8'), 'reviewers')) {
        try {
          reviewers.set(String(r.id), { fingerprint: parsePublicKey(String(r.key)).fingerprint, agents: Array.isArray(r.agents) ? r.agents.map(String) : [] });
        } catch {
          /* an unusable key is no key */
        }
      }
    } else if (f.path.startsWith('whitelist/')) {
      for (const w of list(f.content.toString('utf8'), 'whitelist')) whitelist.add(String(w.id));
    }
  }
  return { reviewers, whitelist, source };
}
