/**
 * Git, two ways: the repository layout is read directly (finding the work tree, HEAD and refs
 * costs a few file reads, so a warm check never starts git), and everything else runs the git
 * CLI on the cold path only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GateError, describeCause } from '../errors.js';

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
  const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/remotes/${ref}`, `refs/tags/${ref}`, ref];
  for (const c of candidates) {
    const sha = refSha(repo, c);
    if (sha) return sha;
  }
  return null;
}

/** Run git in `cwd`; its output, or a GateError naming the command. */
export function git(cwd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync('git', [...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      input,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new GateError('policy-invalid', `git ${args.join(' ')} failed: ${stderr || describeCause(err)}`);
  }
}

/** Run git and report only whether it succeeded (`merge-base --is-ancestor`, `verify-commit`). */
export function gitOk(cwd: string, args: readonly string[]): boolean {
  const r = spawnSync('git', [...args], { cwd, stdio: 'ignore', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
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
