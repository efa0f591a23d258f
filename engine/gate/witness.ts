/**
 * Witnesses: places outside the store that keep a copy of every signed checkpoint, so that a
 * trail truncated or rewritten later (even by someone holding the gate's key) no longer extends
 * what they hold. `verify` reads every configured witness back by default.
 *
 *   file     appended to (fsync'd): put it where the agent's user cannot rewrite it
 *            (a directory it cannot write, `chattr +a`, another user's append-only file)
 *   command  run with the checkpoint on standard input (`logger`, an upload …); `read` is a
 *            command that prints what it kept, for verify
 *   url      POSTed to (text/plain); GET returns what it kept
 *   git_ref  a commit per checkpoint on this ref of the policy repository (or `repo`)
 *
 * Appends are synchronous and happen after the transaction that signed the checkpoint commits,
 * never while the store's write lock is held.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GateError, describeCause } from '../util/errors.js';
import { splitCheckpoints } from '../audit/checkpoint.js';
import type { WitnessReading } from '../audit/verify.js';
import type { WitnessDefinition } from '../policy/types.js';
import { findRepository, git } from '../util/git.js';

export interface WitnessContext {
  /** Relative file paths and the default Git repository are the policy directory's. */
  readonly policyDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** How long one append or read may take. */
const WITNESS_TIMEOUT_MS = 10_000;

export function witnessName(w: WitnessDefinition): string {
  if ('file' in w) return `file ${w.file}`;
  if ('command' in w) return `command ${w.command.join(' ')}`;
  if ('url' in w) return `url ${w.url}`;
  return `git ${w.git_ref}${w.repo ? ` in ${w.repo}` : ''}`;
}

function run(argv: readonly string[], input: string | undefined, ctx: WitnessContext): string {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    input,
    encoding: 'utf8',
    timeout: WITNESS_TIMEOUT_MS,
    env: ctx.env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${argv[0]} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().slice(0, 300)}`);
  return r.stdout;
}

/**
 * HTTP from synchronous code: a child node process does the request (fetch), so the store's
 * synchronous write path can wait for it.
 */
function http(method: 'GET' | 'POST', url: string, body: string | undefined, ctx: WitnessContext): string {
  const script =
    `const [m,u]=process.argv.slice(1);let b='';process.stdin.on('data',d=>b+=d).on('end',async()=>{try{` +
    `const r=await fetch(u,{method:m,headers:{'content-type':'text/plain'},body:m==='POST'?b:undefined,` +
    `signal:AbortSignal.timeout(${WITNESS_TIMEOUT_MS - 1000})});const t=await r.text();` +
    `if(!r.ok){process.stderr.write('HTTP '+r.status+' '+t.slice(0,200));process.exit(1)}process.stdout.write(t)}` +
    `catch(e){process.stderr.write(String(e&&e.message||e));process.exit(1)}})`;
  return run([process.execPath, '-e', script, method, url], body ?? '', ctx);
}

function filePath(w: { file: string }, ctx: WitnessContext): string {
  return isAbsolute(w.file) ? w.file : resolve(ctx.policyDir, w.file);
}

function gitRoot(w: { repo?: string | undefined }, ctx: WitnessContext): string {
  const dir = w.repo ? (isAbsolute(w.repo) ? w.repo : resolve(ctx.policyDir, w.repo)) : ctx.policyDir;
  const repo = findRepository(dir);
  if (!repo) throw new Error(`${dir} is not in a Git repository`);
  return repo.root;
}

/** The commit a ref points at, or '' when there is none. */
function refCommit(root: string, ref: string): string {
  try {
    return git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    return '';
  }
}

const COMMITTER = {
  GIT_AUTHOR_NAME: 'policy-gate',
  GIT_AUTHOR_EMAIL: 'policy-gate@localhost',
  GIT_COMMITTER_NAME: 'policy-gate',
  GIT_COMMITTER_EMAIL: 'policy-gate@localhost',
};

/** Append one checkpoint to a witness; throws an Error saying why it could not. */
export function appendToWitness(w: WitnessDefinition, note: string, ctx: WitnessContext): void {
  if ('file' in w) {
    const fd = openSync(filePath(w, ctx), 'a', 0o644);
    try {
      writeSync(fd, note.endsWith('\n') ? `${note}\n` : `${note}\n\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } else if ('command' in w) {
    run(w.command, note, ctx);
  } else if ('url' in w) {
    http('POST', w.url, note, ctx);
  } else {
    // a commit whose message is the checkpoint, on top of the ref; update-ref checks the old
    // value, so two gates appending at once cannot drop each other's commit
    const root = gitRoot(w, ctx);
    for (let attempt = 0; attempt < 5; attempt++) {
      const parent = refCommit(root, w.git_ref);
      const tree = git(root, ['mktree'], '').trim();
      const commit = git(
        root,
        ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'],
        note,
        COMMITTER,
      ).trim();
      try {
        git(root, ['update-ref', w.git_ref, commit, parent || '0'.repeat(commit.length)]);
        return;
      } catch (err) {
        if (attempt === 4) throw err;
      }
    }
  }
}

/** What a witness holds, read back; never throws (the reading says what went wrong). */
export function readWitness(w: WitnessDefinition, ctx: WitnessContext): WitnessReading {
  const name = witnessName(w);
  try {
    let text: string;
    if ('file' in w) text = readFileSync(filePath(w, ctx), 'utf8');
    else if ('command' in w) {
      if (!w.read) return { name, notes: null, error: 'it has no `read` command to show what it kept' };
      text = run(w.read, undefined, ctx);
    } else if ('url' in w) text = http('GET', w.url, undefined, ctx);
    else {
      const root = gitRoot(w, ctx);
      text = refCommit(root, w.git_ref) ? git(root, ['log', '--reverse', '--format=%B', w.git_ref]) : '';
    }
    return { name, notes: splitCheckpoints(text) };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' && 'file' in w;
    return { name, notes: missing ? [] : null, error: describeCause(err) };
  }
}

/**
 * The store's witness hook: append every new checkpoint to each witness. A witness marked
 * `required` that cannot take it fails the write (the command must not run); another one's
 * failure is reported through `failed` and the write stands.
 */
export function witnessHook(
  witnesses: readonly WitnessDefinition[],
  ctx: WitnessContext,
  failed: (name: string, error: string) => void,
): ((note: string) => void) | undefined {
  if (witnesses.length === 0) return undefined;
  return (note) => {
    for (const w of witnesses) {
      try {
        appendToWitness(w, note, ctx);
      } catch (err) {
        const why = describeCause(err);
        if (w.required) {
          throw new GateError(
            'store-write-failed',
            `the checkpoint could not be appended to the required witness ${witnessName(w)}: ${why}`,
            { hint: 'the command must not run' },
          );
        }
        failed(witnessName(w), why);
      }
    }
  };
}
