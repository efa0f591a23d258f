/**
 * What the policy said at each recorded revision (reviewers and their keys, whitelist rule ids),
 * for `verify` and evidence bundles: read from Git when the policy is versioned and the
 * revision is a commit, else from the current policy when the revision is its own.
 */
import { relative } from 'node:path';
import type { PolicyAt } from '../audit/verify.js';
import { filesAtRef, findRepository } from '../util/git.js';
import { parseYaml } from '../util/yaml.js';
import { loadPolicy } from './load-policy.js';
import { reviewersFromYaml, reviewersOf, type Reviewer } from './reviewers.js';

/**
 * The policy at a revision: from Git when the policy is versioned and the revision is a commit,
 * else the current policy when the revision is its own; unknown otherwise.
 */
export async function policyProvider(
  dir: string,
): Promise<(revisions: readonly string[]) => Promise<(revision: string) => PolicyAt | null>> {
  let current: { revision: string; content: string; at: PolicyAt } | null = null;
  try {
    const policy = await loadPolicy(dir, { git: true, examples: 'report' });
    current = {
      revision: policy.revision,
      content: policy.contentRevision,
      at: {
        reviewers: rosterOf(reviewersOf(policy)),
        whitelist: new Set(policy.source.whitelist.map((w) => w.id)),
        tokenDecisions: policy.gate.review?.token_decisions === true,
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
        known.set(
          revision,
          await policyFromFiles(
            filesAtRef(repo, commit, relative(repo.root, dir)),
            `the policy at ${commit.slice(0, 12)}`,
          ),
        );
      } catch {
        known.set(revision, null);
      }
    }
    return (revision: string) => known.get(revision) ?? null;
  };
}

/** What verify needs of each reviewer: the key's fingerprint and the agents acting for them. */
function rosterOf(reviewers: Map<string, Reviewer>): PolicyAt['reviewers'] {
  return new Map([...reviewers].map(([id, r]) => [id, { fingerprint: r.key.fingerprint, agents: r.agents }]));
}

async function policyFromFiles(files: { path: string; content: Buffer }[], source: string): Promise<PolicyAt> {
  let reviewers: PolicyAt['reviewers'] = new Map();
  const whitelist = new Set<string>();
  let tokenDecisions = false;
  for (const f of files) {
    if (f.path === 'gate.yaml') {
      try {
        const gate = parseYaml(f.content.toString('utf8'), f.path).data as {
          review?: { token_decisions?: unknown };
        } | null;
        tokenDecisions = gate?.review?.token_decisions === true;
      } catch {
        /* a gate.yaml that does not parse allows no token decision */
      }
    } else if (f.path === 'reviewers.yaml') {
      reviewers = rosterOf(reviewersFromYaml(f.content.toString('utf8')));
    } else if (f.path.startsWith('whitelist/')) {
      try {
        const items = (parseYaml(f.content.toString('utf8'), f.path).data as { whitelist?: unknown } | null)?.whitelist;
        for (const w of Array.isArray(items) ? items : [])
          if (w && typeof w === 'object' && typeof (w as { id?: unknown }).id === 'string')
            whitelist.add((w as { id: string }).id);
      } catch {
        /* a file that does not parse, or is past the YAML limits, admits no rule */
      }
    }
  }
  return { reviewers, whitelist, tokenDecisions, source };
}
