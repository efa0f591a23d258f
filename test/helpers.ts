/** Shared test fixtures: the shipped policy, temporary directories, the CLI in and out of process. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { main } from '../cli/cli.js';
import type { CliIo } from '../cli/io.js';
import { assess, loadPolicy, type Assessment, type Policy } from '../engine/index.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const POLICY_DIR = join(ROOT, 'policies');
export const BIN = join(ROOT, 'dist', 'bin', 'policy-gate.js');
/** A Wednesday at noon UTC: inside working hours, so no off-hours signal. */
export const NOON = new Date('2026-01-07T12:00:00Z');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'policy-gate-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

let shipped: Promise<Policy> | null = null;
export function shippedPolicy(): Promise<Policy> {
  shipped ??= loadPolicy(POLICY_DIR, { cacheDir: tempDir('policy-gate-cache-') });
  return shipped;
}

export async function judge(command: string, ctx: Partial<Parameters<typeof assess>[2]> = {}): Promise<Assessment> {
  return assess(command, await shippedPolicy(), { now: NOON, history: null, ...ctx });
}

export function ruleIds(a: Assessment): string[] {
  return a.signals.map((s) => s.rule_id);
}

const homes = new Map<string, string>();

/**
 * The home directory a CLI run in `cwd` gets unless a test gives HOME: a temporary directory of
 * its own, the same for every run in that working directory. With no `.policy-gate/` in the
 * working directory or above, the store is the per-user default `$HOME/.policy-gate/audit.db`:
 * this keeps every test away from the real one, and runs in one directory share it as one
 * user's runs would.
 */
export function homeFor(cwd: string): string {
  let home = homes.get(cwd);
  if (!home) {
    home = tempDir('policy-gate-home-');
    homes.set(cwd, home);
  }
  return home;
}

/** The per-user default store of CLI runs in `cwd` (see homeFor). */
export function userStore(cwd: string): string {
  return join(homeFor(cwd), '.policy-gate', 'audit.db');
}

/**
 * The environment every CLI run starts from: the store search does not climb into the shared
 * temporary directory, where any process run there may have left a `.policy-gate/` (and with it
 * every test's trail would land in one store).
 */
export function baseEnv(cwd: string): Record<string, string> {
  return { HOME: homeFor(cwd), POLICY_GATE_CEILING_DIRECTORIES: tmpdir() };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in process, with its own stdin, environment, working and home directories (see homeFor). */
export async function runCli(
  argv: string[],
  options: { stdin?: string | Buffer; env?: Record<string, string>; cwd?: string; tty?: boolean } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const cwd = options.cwd ?? tempDir();
  const io: CliIo = {
    env: { ...baseEnv(cwd), ...options.env },
    cwd,
    stdout: { write: (t) => void (stdout += t), isTTY: false },
    stderr: { write: (t) => void (stderr += t), isTTY: false },
    stdinIsTTY: options.tty ?? options.stdin === undefined,
    stdin: Readable.from(
      options.stdin === undefined
        ? []
        : [typeof options.stdin === 'string' ? Buffer.from(options.stdin) : options.stdin],
    ),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Run the built bin as a real process (HOME: see homeFor). */
export function runBin(
  argv: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const cwd = options.cwd ?? tempDir();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...baseEnv(cwd), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * Wait until `condition` holds (polled), however long a busy machine takes, up to `limitMs`;
 * throws naming what was awaited. Tests wait for conditions, never for fixed sleeps.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  limitMs = 120_000,
  everyMs = 25,
): Promise<T> {
  const until = performance.now() + limitMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (performance.now() > until) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
