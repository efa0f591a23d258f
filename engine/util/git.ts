/**
 * Git, two ways: the repository layout is read directly (finding the work tree, HEAD and refs
 * costs a few file reads, so a warm check never starts git), and everything else runs the git
 * CLI on the cold path only.
 *
 * The git CLI runs only on the policy repository — provenance and blame, reviewers at the
 * protected ref, the policy at a recorded revision, `whitelist propose --branch` — never on a
 * repository the agent works in (a `repos` scope reads the layout: repositoryIds runs no git).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GateError, describeCause } from './errors.js';

export interface Repository {
  /** The work tree's top directory. */
  readonly root: string;
  /** The repository's own git directory (.git, or the worktree's). */
  readonly gitDir: string;
  /** Where shared refs live (differs from gitDir in linked worktrees). */
  readonly commonDir: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The Git work tree containing `dir`, found by reading the file system. */
export function findRepository(dir: string): Repository | null {
  let current = resolve(dir);
  for (;;) {
    const dotGit = join(current, '.git');
    if (existsSync(dotGit)) {
      let gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        const m = readText(dotGit)?.match(/^gitdir:\s*(.+)$/m);
        if (!m) return null;
        gitDir = isAbsolute(m[1]!.trim()) ? m[1]!.trim() : resolve(current, m[1]!.trim());
      }
      const common = readText(join(gitDir, 'commondir'))?.trim();
      return { root: current, gitDir, commonDir: common ? resolve(gitDir, common) : gitDir };
    }
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

function packedRef(repo: Repository, name: string): string | null {
  const packed = readText(join(repo.commonDir, 'packed-refs'));
  if (!packed) return null;
  for (const line of packed.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (ref === name && sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  return null;
}

function refSha(repo: Repository, name: string, depth = 0): string | null {
  if (depth > 5) return null;
  for (const base of [repo.gitDir, repo.commonDir]) {
    const text = readText(join(base, name))?.trim();
    if (!text) continue;
    if (text.startsWith('ref: ')) return refSha(repo, text.slice(5).trim(), depth + 1);
    if (/^[0-9a-f]{40,64}$/.test(text)) return text;
  }
  return packedRef(repo, name);
}

/** The commit HEAD points at, or null in an empty repository. */
export function headCommit(repo: Repository): string | null {
  return refSha(repo, 'HEAD');
}

/** `origin/main`, `main`, `refs/remotes/origin/main` or a commit id → a commit id, if known. */
export function resolveRef(repo: Repository, ref: string): string | null {
  if (/^[0-9a-f]{40,64}$/.test(ref)) return ref;
  const candidates = ref.startsWith('refs/')
    ? [ref]
    : [`refs/heads/${ref}`, `refs/remotes/${ref}`, `refs/tags/${ref}`, ref];
  for (const c of candidates) {
    const sha = refSha(repo, c);
    if (sha) return sha;
  }
  return null;
}

/**
 * `-c safe.directory=<top level>` for the policy repository holding `cwd`. The recommended
 * set-up has the policy owned by another OS user than the gate's (the agent must not write it),
 * and git refuses to work in such a repository ("dubious ownership") unless it is listed in
 * safe.directory. It is listed for this one invocation, and exactly: git compares the real path
 * (symlinks resolved) of the work tree's top level, which walking up to the first `.git` gives
 * without running git (`git rev-parse --show-toplevel` would itself be refused); never `*`,
 * never another repository. Git then honours that repository's own config (`core.fsmonitor`
 * and the like; none of these commands runs hooks): its owner writes the policy, so it is
 * trusted already.
 */
function safeDirectory(cwd: string): string[] {
  const root = findRepository(cwd)?.root;
  if (!root) return [];
  try {
    return ['-c', `safe.directory=${realpathSync(root)}`];
  } catch {
    return []; // gone or unreadable: git reports it
  }
}

/** Run git in `cwd`, the policy repository; its output, or a GateError naming the command. */
export function git(cwd: string, args: readonly string[], input?: string, env: Record<string, string> = {}): string {
  try {
    return execFileSync('git', [...safeDirectory(cwd), ...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      input,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...env },
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new GateError('policy-invalid', `git ${args.join(' ')} failed: ${stderr || describeCause(err)}`);
  }
}

/** Run git in the policy repository and report only whether it succeeded (`merge-base --is-ancestor`, `verify-commit`). */
export function gitOk(cwd: string, args: readonly string[]): boolean {
  const r = spawnSync('git', [...safeDirectory(cwd), ...args], {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  return r.status === 0;
}

/** `git@github.com:org/repo.git`, `https://github.com/org/repo` → `github.com/org/repo`. */
export function normalizeRemote(url: string): string {
  return url
    .trim()
    .replace(/^[a-z+]+:\/\//i, '')
    .replace(/^[^@/]+@/, '')
    .replace(/^([^/:]+):(?!\d+\/)/, '$1/')
    .replace(/:\d+\//, '/')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
}

/**
 * What a whitelist rule's `repos` scope is matched against for a working directory: the
 * remotes' normalized URLs and the work tree's path. Read from the file system, no git run.
 */
export function repositoryIds(dir: string): string[] {
  const repo = findRepository(dir);
  if (!repo) return [];
  const ids = [repo.root];
  const config = readText(join(repo.commonDir, 'config')) ?? '';
  for (const m of config.matchAll(/^\s*url\s*=\s*(.+)$/gm)) ids.push(normalizeRemote(m[1]!));
  return ids;
}

/**
 * Commit one file's new content on a new branch made from HEAD, without touching the work tree,
 * the index or the current branch (a temporary index builds the tree). Returns the commit.
 */
export function commitFileOnNewBranch(
  repo: Repository,
  branch: string,
  path: string,
  content: string,
  message: string,
): string {
  if (!gitOk(repo.root, ['check-ref-format', '--branch', branch]))
    throw new GateError('usage', `${JSON.stringify(branch)} is not a valid branch name`);
  if (resolveRef(repo, `refs/heads/${branch}`)) throw new GateError('usage', `branch ${branch} already exists`);
  const index = join(repo.gitDir, `policy-gate-index-${process.pid}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    const blob = git(repo.root, ['hash-object', '-w', '--stdin'], content).trim();
    git(repo.root, ['read-tree', 'HEAD'], undefined, env);
    git(repo.root, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], undefined, env);
    const tree = git(repo.root, ['write-tree'], undefined, env).trim();
    const commit = git(repo.root, ['commit-tree', tree, '-p', 'HEAD', '-F', '-'], message).trim();
    git(repo.root, ['branch', branch, commit]);
    return commit;
  } finally {
    try {
      unlinkSync(index);
    } catch {
      /* never created */
    }
  }
}

/**
 * The files under `dir` (relative to the work tree root) at `ref`, with their contents: one
 * `ls-tree` and one `cat-file --batch`, whatever the number of files.
 */
export function filesAtRef(repo: Repository, ref: string, dir: string): { path: string; content: Buffer }[] {
  if (!gitOk(repo.root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])) {
    throw new GateError('not-found', `no commit ${JSON.stringify(ref)} in ${repo.root}`, {
      hint: 'fetch it first (git fetch origin main), or name a branch, tag or commit',
    });
  }
  const prefix = dir === '' || dir === '.' ? '' : `${dir.replace(/\/+$/, '')}/`;
  const listing = git(repo.root, ['ls-tree', '-r', '-z', '--full-tree', ref, '--', ...(prefix ? [prefix] : [])]);
  const entries = listing
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [, type, sha] = line.slice(0, tab).split(' ');
      return { type, sha: sha!, path: line.slice(tab + 1) };
    })
    .filter((e) => e.type === 'blob');
  if (entries.length === 0) return [];
  const out = execFileSync('git', [...safeDirectory(repo.root), 'cat-file', '--batch'], {
    cwd: repo.root,
    input: `${entries.map((e) => e.sha).join('\n')}\n`,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
  });
  const files: { path: string; content: Buffer }[] = [];
  let at = 0;
  for (const e of entries) {
    const eol = out.indexOf(0x0a, at);
    const size = Number(out.subarray(at, eol).toString('latin1').split(' ')[2]);
    files.push({ path: e.path.slice(prefix.length), content: out.subarray(eol + 1, eol + 1 + size) });
    at = eol + 1 + size + 1;
  }
  return files;
}
