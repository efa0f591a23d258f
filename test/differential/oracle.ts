/**
 * Real bash as the oracle: runs generated commands in a bubblewrap sandbox and reports what bash
 * executed, read from its xtrace.
 *
 * The sandbox: the root file system read-only, a fresh tmpfs on /tmp, no network or other
 * namespaces shared (`--unshare-all`), killed with its parent. PATH inside a case holds only stubs
 * (copies of /bin/true: a binary, so `. a` refuses to read it as bash would refuse a program,
 * where a `#!/bin/sh` script would have its lines run), so an external command runs harmlessly; builtins run for
 * real, which is what a command's own semantics (eval, test, declare …) need.
 *
 * One bwrap per batch of cases keeps 10,000 cases cheap: a driver script inside runs each case as
 * its own `bash case.sh` in its own working directory and process group, with the trace on fd 19,
 * under a watchdog, and kills what the case left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrace, type TraceRecord } from './trace.js';

export interface OracleResult {
  readonly source: string;
  readonly records: readonly TraceRecord[];
  /** bash's exit status; 137 when the watchdog killed it. */
  readonly status: number;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** bash refused the text: a generator bug, or a case the IR should refuse too. */
  readonly syntaxError: boolean;
}

export interface OracleOptions {
  readonly stubs: readonly string[];
  readonly batchSize?: number;
  readonly jobs?: number;
  readonly timeoutSeconds?: number;
}

/** Where the sandbox mounts things; paths inside the sandbox's own tmpfs. */
const IN = '/tmp/in';
const OUT = '/tmp/out';
const STUBS = '/tmp/stubs';
/** What every stub is: a program that exits 0 and, being binary, is never sourced. */
const TRUE_BINARY = ['/usr/bin/true', '/bin/true'].find((p) => existsSync(p)) ?? '/bin/true';
const WORK = '/tmp/w';
const HOME = '/tmp/home';

/** Set before tracing starts; the generator relies on `n` being a number and `x` holding a space. */
const CASE_HEADER = [
  `PATH=${STUBS}`,
  // bash ignores PS4 from the environment when running as root: set it here
  "PS4=$'\\x01+ '",
  "x='a b' y=1 n=3",
  'BASH_XTRACEFD=19',
  'set -x',
  '',
].join('\n');

const SYNTAX_ERROR = new RegExp(
  [
    /syntax error near unexpected token/,
    /syntax error: unexpected end of file/,
    /unexpected EOF while looking for matching/,
    /syntax error in conditional expression/,
    /unexpected token .* in conditional command/,
    /unexpected argument .* to conditional/,
  ]
    .map((r) => r.source)
    .join('|'),
);

/** Why the oracle cannot run here at all (no bwrap), or null. */
export function bwrapMissing(): string | null {
  const probe = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  return probe.error ? `bubblewrap (bwrap) is not installed: ${probe.error.message}` : null;
}

/** Throws when bwrap is there but cannot build the sandbox (no user namespaces, say). */
export function checkSandbox(): void {
  const probe = spawnSync(
    'bwrap',
    ['--ro-bind', '/', '/', '--tmpfs', '/tmp', '--unshare-all', '--die-with-parent', '/bin/bash', '-c', 'echo ok'],
    { encoding: 'utf8' },
  );
  if (probe.stdout?.trim() !== 'ok')
    throw new Error(
      `bubblewrap cannot create the sandbox here: ${probe.error?.message ?? (probe.stderr.trim() || `exit ${probe.status}`)}`,
    );
}

export class Oracle {
  private readonly root: string;
  private readonly stubDir: string;
  private readonly batchSize: number;
  private readonly jobs: number;
  private readonly timeoutSeconds: number;
  private batches = 0;
  private readonly running = new Set<ChildProcess>();

  constructor(options: OracleOptions) {
    this.batchSize = options.batchSize ?? 250;
    this.jobs = options.jobs ?? Math.max(1, Math.min(2, availableParallelism()));
    this.timeoutSeconds = options.timeoutSeconds ?? 5;
    this.root = mkdtempSync(join(tmpdir(), 'policy-gate-differential-'));
    this.stubDir = join(this.root, 'stubs');
    mkdirSync(this.stubDir);
    for (const name of options.stubs) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`unsafe stub name ${JSON.stringify(name)}`);
      copyFileSync(TRUE_BINARY, join(this.stubDir, name));
      chmodSync(join(this.stubDir, name), 0o755);
    }
  }

  /** Runs every source, `jobs` batches at a time; results in the order of `sources`. */
  async run(sources: readonly string[]): Promise<OracleResult[]> {
    const results: OracleResult[] = new Array(sources.length);
    const chunks: { start: number; items: readonly string[] }[] = [];
    for (let i = 0; i < sources.length; i += this.batchSize)
      chunks.push({ start: i, items: sources.slice(i, i + this.batchSize) });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const out = await this.runBatch(chunk.items);
        out.forEach((r, k) => {
          results[chunk.start + k] = r;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.jobs, chunks.length) }, worker));
    return results;
  }

  /** Kills sandboxes still running (a test that failed half-way) and removes the files. */
  close(): void {
    for (const child of this.running) child.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  private async runBatch(sources: readonly string[]): Promise<OracleResult[]> {
    const dir = join(this.root, `batch-${this.batches++}`);
    const inDir = join(dir, 'in');
    const outDir = join(dir, 'out');
    mkdirSync(inDir, { recursive: true });
    mkdirSync(outDir);
    sources.forEach((source, i) => writeFileSync(join(inDir, `${i}.sh`), `${CASE_HEADER}${source}\n`));
    writeFileSync(join(inDir, 'driver.sh'), this.driver(sources.length));
    const args = [
      '--ro-bind',
      '/',
      '/',
      '--tmpfs',
      '/tmp',
      '--ro-bind',
      this.stubDir,
      STUBS,
      '--ro-bind',
      inDir,
      IN,
      '--bind',
      outDir,
      OUT,
      '--dir',
      WORK,
      '--dir',
      HOME,
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--chdir',
      '/tmp',
      '/usr/bin/env',
      '-i',
      `HOME=${HOME}`,
      'LC_ALL=C.UTF-8',
      'PATH=/usr/bin:/bin',
      '/bin/bash',
      `${IN}/driver.sh`,
    ];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('bwrap', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      this.running.add(child);
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      child.on('error', reject);
      child.on('close', (c) => {
        this.running.delete(child);
        resolve({ code: c, stderr: err });
      });
    });
    const statuses = new Map<number, number>();
    let statusText = '';
    try {
      statusText = readFileSync(join(outDir, 'status'), 'utf8');
    } catch {
      // no status at all: the driver did not run; reported below
    }
    for (const line of statusText.split('\n')) {
      const m = /^(\d+) (\d+)$/.exec(line);
      if (m) statuses.set(Number(m[1]), Number(m[2]));
    }
    if (statuses.size !== sources.length) {
      throw new Error(
        `the sandbox ran ${statuses.size} of ${sources.length} cases (bwrap exit ${code}): ${stderr.slice(0, 2000)}`,
      );
    }
    const results = sources.map((source, i): OracleResult => {
      const trace = readFileSync(join(outDir, `${i}.trace`)).toString('latin1');
      const err = readFileSync(join(outDir, `${i}.err`), 'utf8');
      const status = statuses.get(i)!;
      return {
        source,
        records: parseTrace(trace),
        status,
        stderr: err,
        timedOut: status === 137,
        // a syntax error inside eval's text is a run-time error of a valid command
        syntaxError: err.split('\n').some((l) => SYNTAX_ERROR.test(l) && !/: eval: line \d+:/.test(l)),
      };
    });
    rmSync(dir, { recursive: true, force: true });
    return results;
  }

  private driver(count: number): string {
    const t = this.timeoutSeconds;
    // Job control puts every case in its own process group, so what a case leaves running is
    // killed with it. A watchdog kills a case that is still the current one after ${t} checks a
    // second apart (cheaper than a timeout(1) process per case); the case then exits with 137.
    return `#!/bin/bash
set -m
mkdir -p ${WORK}/{0..${count - 1}} || exit 1
(
  last=; ticks=0
  while sleep 1; do
    read -r current < /tmp/current 2>/dev/null || continue
    if [ "$current" = "$last" ]; then ticks=$((ticks + 1)); else last=$current; ticks=0; fi
    if [ "$ticks" -ge ${t} ]; then kill -KILL -- -"$current" 2>/dev/null; fi
  done
) &
for ((i = 0; i < ${count}; i++)); do
  cd ${WORK}/$i || exit 1
  : > a.txt; : > b.txt
  /bin/bash ${IN}/$i.sh </dev/null >/dev/null 2>${OUT}/$i.err 19>${OUT}/$i.trace &
  pid=$!
  echo "$pid" > /tmp/current
  wait "$pid"
  status=$?
  kill -KILL -- -"$pid" 2>/dev/null
  echo "$i $status" >> ${OUT}/status
done
`;
  }
}
