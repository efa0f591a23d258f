/**
 * Running an allowed command: `bash --noprofile --norc -c COMMAND` in a scrubbed environment,
 * with EXEC_START committed before the process starts and EXEC_END after it ends, and its output
 * recorded as an asciicast v2 file whose SHA-256 goes into EXEC_END.
 *
 * The text run is the text that was checked, byte for byte. A decision allows one run.
 */
import { makeDirectories } from '../util/fs.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { constants } from 'node:os';
import type { CommandRecord, DecidedBody, ExecEndBody, Recording } from '../model/events.js';
import type { AuditStore } from '../audit/store.js';
import { GateError, describeCause } from '../util/errors.js';
import type { Clock } from './check.js';
import { allowsRun } from '../model/verdict.js';

export const SHELL_ARGV = ['bash', '--noprofile', '--norc', '-c'] as const;

/** Variables that make a shell or the dynamic loader run code the gate never saw. */
const SCRUBBED = new Set([
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PROMPT_COMMAND',
  'PS4',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'BASH_XTRACEFD',
  'EXECIGNORE',
  'INPUTRC',
  'GCONV_PATH',
  'LOCPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'NODE_OPTIONS',
  'PERL5OPT',
  'PYTHONSTARTUP',
  'PYTHONINSPECT',
  'RUBYOPT',
]);

function scrubbed(name: string): boolean {
  return (
    SCRUBBED.has(name) ||
    name.startsWith('LD_') ||
    name.startsWith('DYLD_') ||
    name.startsWith('BASH_FUNC_') ||
    name.startsWith('MALLOC_')
  );
}

/** The environment the command runs in, and the names removed from it. */
export function scrubEnvironment(env: Readonly<Record<string, string | undefined>>): {
  env: Record<string, string>;
  removed: string[];
} {
  const out: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (scrubbed(name)) removed.push(name);
    else out[name] = value;
  }
  return { env: out, removed: removed.sort() };
}

/** What a run needs of the trail: the command's events, and to record its start and end (a store, or a server's API). */
export type RunRecorder = Pick<AuditStore, 'commandEvents' | 'record'>;

export interface ExecOptions {
  readonly store: RunRecorder;
  readonly clock: Clock;
  /** The recordings go under this directory (the store's). */
  readonly storeDir: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Give the command our standard input, or none (when the command text came from it). */
  readonly stdin: 'inherit' | 'ignore';
  /** Where the command's output goes as it arrives (our stdout and stderr). */
  readonly output: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  readonly terminal?: { readonly cols: number; readonly rows: number };
  /** Aborted when we are interrupted: the signal is passed on to the command. */
  readonly signal?: AbortSignal;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly end: ExecEndBody;
  /**
   * Why EXEC_END could not be written (null when it was). The command ran all the same: its exit
   * code stands, and the end was spooled for the next writer to record late.
   */
  readonly endNotRecorded: string | null;
}

/** Terminal output from a pipe: a bare LF is shown as CR LF, as a terminal's line discipline would. */
function asTerminal(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

class CastWriter {
  private readonly fd: number;
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  constructor(
    readonly path: string,
    header: Record<string, unknown>,
    private readonly t0: number,
    private readonly clock: Clock,
  ) {
    makeDirectories(dirname(path));
    this.fd = openSync(path, 'wx', 0o600);
    writeSync(this.fd, `${JSON.stringify(header)}\n`);
  }
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = this.decoders[stream].write(chunk);
    if (text) this.event(text);
  }
  private event(text: string): void {
    const data = asTerminal(text);
    const seconds = Math.max(0, (this.clock.monotonic() - this.t0) / 1000);
    writeSync(this.fd, `${JSON.stringify([Number(seconds.toFixed(6)), 'o', data])}\n`);
  }
  /** Flush, fsync, close; the file's digest. */
  finish(): Recording {
    for (const s of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[s].end();
      if (rest) this.event(rest);
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    const bytes = readFileSync(this.path);
    return { path: this.path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  }
}

/** The decision that allows a run of `record`, or an error saying why it must not run. */
export async function allowingDecision(
  store: Pick<AuditStore, 'commandEvents'>,
  record: CommandRecord,
): Promise<{ body: DecidedBody; leaf: string }> {
  const events = await store.commandEvents(record.command_id);
  const decided = events.find((e) => e.type === 'DECIDED');
  const body = decided?.body as DecidedBody | undefined;
  if (!decided || !body || !allowsRun(body.decision)) {
    throw new GateError('usage', `command ${record.command_id} is ${body?.decision ?? 'pending'}: it must not run`, {
      exitCode: 126,
    });
  }
  if (events.some((e) => e.type === 'EXEC_START')) {
    throw new GateError('usage', `command ${record.command_id} already ran: a decision allows one run`, {
      exitCode: 126,
    });
  }
  return { body, leaf: decided.leaf };
}

/**
 * Run an allowed command and record the run. Throws (and runs nothing) when it is not allowed
 * or EXEC_START cannot be recorded.
 */
export async function execute(record: CommandRecord, options: ExecOptions): Promise<ExecResult> {
  const { store, clock } = options;
  const decided = await allowingDecision(store, record);
  const { env, removed } = scrubEnvironment(options.env);
  const t0 = clock.monotonic();
  const wallNow = clock.wall().getTime();
  const startedMs = Math.max(wallNow, Date.parse(decided.body.decided_at));
  const startedAt = new Date(startedMs).toISOString();
  const day = startedAt.slice(0, 10);
  const castPath = join(options.storeDir, 'recordings', day, `${record.command_id}.cast`);
  const argv = [...SHELL_ARGV, record.command];

  let cast: CastWriter | null = null;
  let recordingError: string | null = null;
  try {
    cast = new CastWriter(
      castPath,
      {
        version: 2,
        width: options.terminal?.cols ?? 80,
        height: options.terminal?.rows ?? 24,
        timestamp: Math.floor(startedMs / 1000),
        command: record.command,
        title: `policy-gate ${record.command_id}`,
        env: { SHELL: 'bash', TERM: options.env.TERM ?? 'xterm-256color' },
      },
      t0,
      clock,
    );
  } catch (err) {
    recordingError = `cannot write the recording ${castPath}: ${describeCause(err)}`;
  }
  if (cast === null) {
    // a run that cannot be recorded is a run the trail cannot show: do not start it
    throw new GateError('store-write-failed', recordingError!, {
      exitCode: 126,
      hint: 'the command did not run; check the store directory',
    });
  }
  const started = await store.record({
    type: 'EXEC_START',
    command_id: record.command_id,
    started_at: startedAt,
    decided_leaf: decided.leaf,
    argv,
    cwd: options.cwd,
    env_removed: removed,
    recording: relative(options.storeDir, castPath),
  });
  if (!started) {
    cast.finish();
    throw new GateError('usage', `command ${record.command_id} already ran: a decision allows one run`, {
      exitCode: 126,
    });
  }

  const outcome = await new Promise<{ code: number; signal: string | null; spawnError: string | null }>((resolve) => {
    let settled = false;
    const settle = (v: { code: number; signal: string | null; spawnError: string | null }): void => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env, stdio: [options.stdin, 'pipe', 'pipe'] });
    const forward = (): void => void child.kill('SIGTERM');
    options.signal?.addEventListener('abort', forward, { once: true });
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.on('data', (chunk: Buffer) => {
        options.output(stream, chunk);
        cast!.output(stream, chunk);
      });
    }
    child.on('error', (err) => settle({ code: 126, signal: null, spawnError: err.message }));
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', forward);
      const signo = signal ? ((constants.signals as Record<string, number>)[signal] ?? 0) : 0;
      settle({ code: code ?? 128 + signo, signal: signal ?? null, spawnError: null });
    });
  });
  const duration = Math.max(0, Math.round(clock.monotonic() - t0));
  let recording: Recording | null = null;
  try {
    const done = cast.finish();
    recording = { ...done, path: relative(options.storeDir, done.path) };
  } catch (err) {
    recordingError = `the recording could not be completed: ${describeCause(err)}`;
  }
  if (outcome.spawnError) recordingError = spawnFailure(options.cwd, outcome.spawnError);
  const end: ExecEndBody = {
    type: 'EXEC_END',
    command_id: record.command_id,
    started_at: startedAt,
    ended_at: new Date(startedMs + duration).toISOString(),
    duration_ms: duration,
    exit_code: outcome.code,
    signal: outcome.signal,
    recording,
    recording_error: recordingError,
  };
  // the command ran: from here on its own exit status is the answer, whatever the trail does
  let endNotRecorded: string | null = null;
  try {
    await store.record(end);
  } catch (err) {
    endNotRecorded = describeCause(err);
  }
  return { exitCode: outcome.code, end, endNotRecorded };
}

/** Why bash did not start: most often the working directory is gone, not bash. */
function spawnFailure(cwd: string, error: string): string {
  let dir = false;
  try {
    dir = statSync(cwd).isDirectory();
  } catch {
    /* missing */
  }
  return dir
    ? `bash could not be started: ${error}`
    : `the working directory ${cwd} does not exist or is not a directory: the command could not start`;
}
