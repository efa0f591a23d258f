/**
 * Provenance of whitelist rules: for each rule, the commit that last changed its lines (blame
 * on its YAML span), who wrote it and when, who reviewed it (Reviewed-by, Approved-by and
 * Co-authored-by trailers), and the merge commit that brought it into the current branch. Also
 * what the gitops checks need: is the rule committed, is its file unchanged in the work tree, is
 * its commit reachable from the protected ref, is it signed.
 *
 * Computing this runs git many times, so the result is cached keyed by HEAD, the protected
 * ref's commit and the policy files' hash; a warm check reads the cache and starts no git.
 */
import { makeDirectories } from '../util/fs.js';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stableJson } from '../util/canonical.js';
import { parseYaml } from '../util/yaml.js';
import { findRepository, git, gitOk, headCommit, resolveRef, type Repository } from '../util/git.js';

export interface RuleProvenance {
  readonly rule_id: string;
  /** The rule's file, relative to the repository. */
  readonly file: string;
  readonly commit: string;
  readonly author: string;
  readonly committed_at: string;
  readonly reviewed_by: readonly string[];
  readonly reviewed_at: string;
  /** The merge commit that brought the rule into the current branch, if any. */
  readonly merge_commit: string | null;
  readonly merged_by: string | null;
}

export interface RuleCheck {
  /** Every line of the rule is committed. */
  readonly committed: boolean;
  /** The rule's file has no uncommitted change. */
  readonly unchanged: boolean;
  /** The rule's commit (or the merge that brought it) is reachable from the protected ref. */
  readonly reachable: boolean | null;
  /**
   * The rule's definition is the same in the protected ref: catches a change that only deletes
   * lines (a scope, an expiry), which blame on the remaining lines cannot see.
   */
  readonly matches_protected: boolean | null;
  /** That commit's signature verifies (`git verify-commit`); null when not asked. */
  readonly signed: boolean | null;
}

export interface ProvenanceIndex {
  readonly repository: string;
  readonly head: string;
  /** Some policy file differs from HEAD. */
  readonly dirty: boolean;
  readonly protected_ref: string | null;
  readonly protected_commit: string | null;
  readonly rules: Readonly<Record<string, RuleProvenance | null>>;
  readonly checks: Readonly<Record<string, RuleCheck>>;
}

export interface WhitelistSpan {
  readonly id: string;
  /** Path relative to the policy directory. */
  readonly file: string;
  readonly line: number;
  readonly line_end: number;
}

export interface ProvenanceOptions {
  readonly protectedRef?: string | undefined;
  readonly requireSigned?: boolean | undefined;
  readonly cacheDir?: string | undefined;
  /** Hash of the policy files (the content revision), part of the cache key. */
  readonly contentRevision: string;
}

const ZERO = /^0+$/;
const CACHE_FORMAT = 2;

/** The provenance of every whitelist rule, or null when the policy is not in a Git work tree. */
export function whitelistProvenance(
  policyDir: string,
  spans: readonly WhitelistSpan[],
  options: ProvenanceOptions,
): ProvenanceIndex | null {
  const repo = findRepository(policyDir);
  if (!repo) return null;
  const head = headCommit(repo);
  if (!head) return null;
  const protectedCommit = options.protectedRef ? resolveRef(repo, options.protectedRef) : null;
  const key = createHash('sha256')
    .update(
      [
        CACHE_FORMAT,
        repo.root,
        policyDir,
        head,
        options.protectedRef ?? '',
        protectedCommit ?? '',
        options.requireSigned ? 'signed' : '',
        options.contentRevision,
      ].join('\0'),
    )
    .digest('hex')
    .slice(0, 32);
  const cacheFile = options.cacheDir ? join(options.cacheDir, `provenance-${key}.json`) : null;
  if (cacheFile) {
    try {
      return (JSON.parse(readFileSync(cacheFile, 'utf8')) as { index: ProvenanceIndex | null }).index;
    } catch {
      /* not cached yet */
    }
  }
  // a policy inside someone else's repository (an installed package, an ignored directory) is not versioned there
  const tracked = git(repo.root, ['ls-files', '--', relative(repo.root, policyDir) || '.']).trim() !== '';
  const index = tracked ? compute(repo, policyDir, head, spans, options, protectedCommit) : null;
  if (cacheFile) {
    try {
      makeDirectories(options.cacheDir!);
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ index }), { mode: 0o600 });
      renameSync(tmp, cacheFile);
    } catch {
      /* a cache is an optimisation */
    }
  }
  return index;
}

interface BlameLine {
  readonly commit: string;
  readonly committerTime: number;
}

/** `git blame --porcelain` of the working-tree file: the commit of every line (1-based). */
function blame(repo: Repository, file: string): BlameLine[] {
  const out = git(repo.root, ['blame', '--porcelain', '--', file]);
  const times = new Map<string, number>();
  const lines: BlameLine[] = [];
  let current = '';
  let final = 0;
  for (const line of out.split('\n')) {
    const header = line.match(/^([0-9a-f]{40,64}) \d+ (\d+)/);
    if (header) {
      current = header[1]!;
      final = Number(header[2]);
      continue;
    }
    const time = line.match(/^committer-time (\d+)/);
    if (time) times.set(current, Number(time[1]));
    if (line.startsWith('\t')) lines[final] = { commit: current, committerTime: times.get(current) ?? 0 };
  }
  return lines;
}

interface CommitInfo {
  readonly author: string;
  readonly authoredAt: string;
  readonly committer: string;
  readonly committedAt: string;
  readonly trailers: string[];
  readonly merge: boolean;
}

function commitInfo(repo: Repository, commit: string): CommitInfo {
  const out = git(repo.root, [
    'show',
    '-s',
    '--format=%an <%ae>%x00%aI%x00%cn <%ce>%x00%cI%x00%P%x00' +
      '%(trailers:key=Reviewed-by,key=Approved-by,key=Co-authored-by,valueonly,separator=%x01)',
    commit,
  ]);
  const [author, authoredAt, committer, committedAt, parents, trailers] = out.replace(/\n$/, '').split('\0');
  return {
    author: author!,
    authoredAt: authoredAt!,
    committer: committer!,
    committedAt: committedAt!,
    merge: (parents ?? '').trim().split(/\s+/).length > 1,
    trailers: (trailers ?? '')
      .split('\x01')
      .map((t) => t.trim())
      .filter(Boolean),
  };
}

/** Each whitelist rule's definition in a version of a file, as canonical JSON by id. */
function definitions(text: string | null, file: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text === null) return out;
  let data: unknown;
  try {
    data = parseYaml(text, file).data;
  } catch {
    return out; // an unreadable version, or one past the YAML limits, defines nothing
  }
  const list = (data as { whitelist?: unknown } | null)?.whitelist;
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string') out.set(id, stableJson(item));
  }
  return out;
}

function compute(
  repo: Repository,
  policyDir: string,
  head: string,
  spans: readonly WhitelistSpan[],
  options: ProvenanceOptions,
  protectedCommit: string | null,
): ProvenanceIndex {
  const policyRel = relative(repo.root, policyDir) || '.';
  // files of the policy that differ from HEAD (modified, added, untracked, deleted)
  const status = git(repo.root, ['status', '--porcelain=v1', '--untracked-files=all', '--', policyRel]);
  const dirtyFiles = new Set(
    status
      .split('\n')
      .filter(Boolean)
      .map((l) =>
        l
          .slice(3)
          .replace(/^.* -> /, '')
          .replace(/^"|"$/g, ''),
      ),
  );
  const firstParent = new Set(git(repo.root, ['rev-list', '--first-parent', head]).split('\n').filter(Boolean));
  const blames = new Map<string, BlameLine[]>();
  const infos = new Map<string, CommitInfo>();
  const info = (c: string): CommitInfo => {
    let i = infos.get(c);
    if (!i) infos.set(c, (i = commitInfo(repo, c)));
    return i;
  };
  const merges = new Map<string, string | null>();
  const mergeOf = (c: string): string | null => {
    if (firstParent.has(c)) return null;
    if (!merges.has(c)) {
      // the oldest first-parent commit that contains c is the merge that brought it in
      const path = git(repo.root, ['rev-list', '--first-parent', '--ancestry-path', `${c}..${head}`])
        .split('\n')
        .filter(Boolean);
      merges.set(c, path[path.length - 1] ?? null);
    }
    return merges.get(c)!;
  };
  const versions = new Map<string, Map<string, string>>();
  /** Rule definitions of `file` at `commit` (null: the working tree). */
  const defsAt = (commit: string | null, file: string): Map<string, string> => {
    const key = `${commit ?? ''}:${file}`;
    let defs = versions.get(key);
    if (!defs) {
      let text: string | null;
      try {
        text =
          commit === null ? readFileSync(join(repo.root, file), 'utf8') : git(repo.root, ['show', `${commit}:${file}`]);
      } catch {
        text = null; // not in that version
      }
      versions.set(key, (defs = definitions(text, file)));
    }
    return defs;
  };
  const rules: Record<string, RuleProvenance | null> = {};
  const checks: Record<string, RuleCheck> = {};
  for (const span of spans) {
    const file = relative(repo.root, join(policyDir, span.file));
    let lines = blames.get(file);
    if (!lines) {
      try {
        lines = blame(repo, file);
      } catch {
        lines = []; // an untracked file has no history
      }
      blames.set(file, lines);
    }
    const mine = lines.slice(span.line, span.line_end + 1).filter((l): l is BlameLine => l !== undefined);
    const committed = mine.length > 0 && mine.every((l) => !ZERO.test(l.commit));
    const unchanged = !dirtyFiles.has(file);
    if (!committed) {
      rules[span.id] = null;
      checks[span.id] = { committed, unchanged, reachable: null, matches_protected: null, signed: null };
      continue;
    }
    const current = defsAt(null, file).get(span.id);
    let commit = mine.reduce((a, b) => (b.committerTime > a.committerTime ? b : a)).commit;
    if (unchanged && defsAt(commit, file).get(span.id) !== current) {
      // a later commit deleted lines of the rule: ask for the last commit that touched its range,
      // one line past its end included (a deleted last line sits there)
      const range = `${span.line},${span.line_end + 1}:${file}`;
      try {
        commit = git(repo.root, ['log', '-1', '-s', '--format=%H', `-L${range}`, head]).trim() || commit;
      } catch {
        /* keep the blame commit: matches_protected still guards the content */
      }
    }
    const c = info(commit);
    const merge = mergeOf(commit);
    const m = merge ? info(merge) : null;
    const reviewers = [...c.trailers, ...(m?.trailers ?? [])];
    // whoever merged someone else's change reviewed it (the pull-request flow)
    if (m && m.committer !== c.author && !reviewers.includes(m.committer)) reviewers.push(m.committer);
    rules[span.id] = {
      rule_id: span.id,
      file,
      commit,
      author: c.author,
      committed_at: c.committedAt,
      reviewed_by: [...new Set(reviewers)],
      reviewed_at: m ? m.committedAt : c.committedAt,
      merge_commit: merge,
      merged_by: m ? m.committer : null,
    };
    const landed = merge ?? commit;
    checks[span.id] = {
      committed,
      unchanged,
      reachable: protectedCommit ? gitOk(repo.root, ['merge-base', '--is-ancestor', landed, protectedCommit]) : null,
      matches_protected: protectedCommit
        ? current !== undefined && defsAt(protectedCommit, file).get(span.id) === current
        : null,
      signed: options.requireSigned ? gitOk(repo.root, ['verify-commit', landed]) : null,
    };
  }
  return {
    repository: repo.root,
    head,
    dirty: dirtyFiles.size > 0,
    protected_ref: options.protectedRef ?? null,
    protected_commit: protectedCommit,
    rules,
    checks,
  };
}

/** Why a rule may not be used under `require_reviewed`, or null when it may. */
export function reviewRefusal(index: ProvenanceIndex | null, ruleId: string, requireSigned: boolean): string | null {
  if (!index) return 'the policy is not in a Git work tree, so no whitelist rule can be shown to be reviewed';
  const check = index.checks[ruleId];
  if (!check || !check.committed) return 'the rule has uncommitted changes';
  if (!check.unchanged) return 'its file has uncommitted changes';
  if (!index.protected_ref) return 'no protected_ref is configured in gate.yaml';
  if (!index.protected_commit) return `the protected ref ${index.protected_ref} does not exist`;
  if (!check.reachable) return `its commit is not reachable from ${index.protected_ref} (not reviewed and merged)`;
  if (!check.matches_protected)
    return `it differs from its version in ${index.protected_ref} (the change is not reviewed and merged)`;
  if (requireSigned && !check.signed) return 'its commit has no verified signature';
  return null;
}
