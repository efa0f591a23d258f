/**
 * Real Git repositories for the GitOps tests: a bare "origin", a clone to work in, commits by
 * named people with fixed dates, trailers, merges and signatures — all with the git CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCli, tempDir } from './helpers.js';

export interface Person {
  readonly name: string;
  readonly email: string;
}

export const ALICE: Person = { name: 'Alice Admin', email: 'alice@example.com' };
export const BOB: Person = { name: 'Bob Builder', email: 'bob@example.com' };
export const CAROL: Person = { name: 'Carol Checker', email: 'carol@example.com' };
export const DANA: Person = { name: 'Dana Maintainer', email: 'dana@example.com' };

export const who = (p: Person): string => `${p.name} <${p.email}>`;

let clock = Date.parse('2026-11-02T09:00:00Z');

export class GitRepo {
  readonly origin: string;
  readonly root: string;
  private readonly home: string;

  private constructor(base: string) {
    this.origin = join(base, 'origin.git');
    this.root = join(base, 'work');
    this.home = join(base, 'home');
    mkdirSync(this.home);
    mkdirSync(this.root);
  }

  /** An empty repository on `main` with a bare `origin` remote. */
  static create(): GitRepo {
    const repo = new GitRepo(tempDir('policy-gate-git-'));
    execFileSync('git', ['init', '--quiet', '--bare', '-b', 'main', repo.origin], { env: repo.env() });
    repo.git('init', '--quiet', '-b', 'main');
    repo.git('config', 'user.name', ALICE.name);
    repo.git('config', 'user.email', ALICE.email);
    repo.git('config', 'commit.gpgsign', 'false');
    repo.git('remote', 'add', 'origin', repo.origin);
    return repo;
  }

  /** An environment free of the machine's Git configuration. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
      ...extra,
    };
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.root,
      env: this.env(),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    }).trim();
  }

  /** Run git as `author` (and `committer`, default the author), at the next tick of a fixed clock. */
  as(author: Person, args: string[], committer: Person = author): string {
    clock += 3600_000;
    const date = new Date(clock).toISOString();
    return execFileSync('git', args, {
      cwd: this.root,
      env: this.env({
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        GIT_COMMITTER_DATE: date,
      }),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    }).trim();
  }

  write(path: string, content: string): void {
    mkdirSync(dirname(join(this.root, path)), { recursive: true });
    writeFileSync(join(this.root, path), content);
  }

  read(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  /** Stage everything and commit; returns the commit. */
  commit(author: Person, message: string, options: { committer?: Person; sign?: boolean } = {}): string {
    this.git('add', '-A');
    this.as(author, ['commit', '--quiet', ...(options.sign ? ['-S'] : []), '-m', message], options.committer);
    return this.head();
  }

  /** Merge `branch` into the current branch with a merge commit by `committer`. */
  merge(branch: string, committer: Person, options: { sign?: boolean } = {}): string {
    this.as(committer, [
      'merge',
      '--quiet',
      '--no-ff',
      ...(options.sign ? ['-S'] : []),
      '-m',
      `Merge branch '${branch}'`,
      branch,
    ]);
    return this.head();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD');
  }

  push(): void {
    this.git('push', '--quiet', 'origin', 'HEAD:main');
    this.git('fetch', '--quiet', 'origin');
  }

  /** An SSH signing key for this repository, trusted for `person` (git verify-commit). */
  trustSigningKey(person: Person): void {
    const key = join(this.home, 'signing_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', person.email, '-f', key], { env: this.env() });
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    writeFileSync(join(this.home, 'allowed_signers'), `${person.email} ${pub}\n`);
    this.git('config', 'gpg.format', 'ssh');
    this.git('config', 'user.signingkey', key);
    this.git('config', 'gpg.ssh.allowedSignersFile', join(this.home, 'allowed_signers'));
  }
}

/**
 * A policy repository made by `init` (review enforced against origin/main), committed by Alice
 * and pushed to origin/main.
 */
export async function policyRepo(): Promise<GitRepo> {
  const repo = GitRepo.create();
  const r = await runCli(['init', repo.root, '--owner', '@acme/security'], { cwd: repo.root });
  if (r.code !== 0) throw new Error(`policy-gate init failed: ${r.stderr}`);
  repo.commit(ALICE, 'policy: initial policies from policy-gate init');
  repo.push();
  return repo;
}
