/**
 * The package as a user gets it: `npm pack` of a clean copy of this checkout (its `prepack`
 * builds the bundle), `npm install -g` of the tarball into a temporary prefix, and the installed
 * `policy-gate` run as a real process, outside the repository, with nothing of the repository on
 * its PATH. The native modules come from the npm cache and build where no prebuilt binary loads.
 *
 * To check another command from the installed binary (`hook claude`, `doctor` …), add one
 * `it(...)` to "the installed policy-gate" below that calls `runInstalled`.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, VERSION } from '../engine/index.js';
import { ROOT, runCli, tempDir, type CliResult } from './helpers.js';

interface Installed {
  /** The packed tarball. */
  readonly tarball: string;
  /** The `npm install -g --prefix` directory: `bin/policy-gate`, `lib/node_modules/policy-gate/`. */
  readonly prefix: string;
  readonly packageDir: string;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === null) reject(new Error(`${file} ${args.join(' ')}: killed by ${signal}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    // a command may exit before reading its input
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin);
  });
}

/**
 * npm as a user's shell runs it: without the npm_* variables that `npm test` hands its children
 * (they would point the inner npm at this project's configuration).
 */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
}

async function npm(args: readonly string[], cwd: string): Promise<Run> {
  // the native modules can take minutes to build on a busy machine
  const r = await run('npm', args, { cwd, env: npmEnv(), timeoutMs: 12 * 60_000 });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/**
 * A clean checkout: the files Git would have (tracked and not ignored, so this work tree's
 * changes count), no dist/, and this checkout's node_modules as `npm ci` would leave it.
 * Packing there leaves the dist/ that other tests run untouched while `prepack` rebuilds.
 */
async function cleanCheckout(): Promise<string> {
  const dir = tempDir('policy-gate-checkout-');
  const files = (
    await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      env: process.env,
      timeoutMs: 60_000,
    })
  ).stdout
    .split('\0')
    // node_modules: a work tree may link it in, where `node_modules/` in .gitignore does not match
    .filter((f) => f !== '' && f !== 'node_modules' && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function packAndInstall(): Promise<Installed> {
  const checkout = await cleanCheckout();
  const packed = tempDir('policy-gate-packed-');
  const started = performance.now();
  await npm(['pack', '--pack-destination', packed], checkout);
  const tarballs = readdirSync(packed).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toEqual([`policy-gate-${VERSION}.tgz`]);
  const tarball = join(packed, tarballs[0]!);
  const packMs = performance.now() - started;
  const prefix = tempDir('policy-gate-prefix-');
  await npm(
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      // the dependencies are in the npm cache after `npm ci`: no registry round trip needed
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--allow-scripts=better-sqlite3,tree-sitter,tree-sitter-bash',
      tarball,
    ],
    tempDir(),
  );
  console.info(
    `policy-gate package: packed in ${Math.round(packMs / 1000)} s, ` +
      `installed in ${Math.round((performance.now() - started - packMs) / 1000)} s`,
  );
  return { tarball, prefix, packageDir: join(prefix, 'lib', 'node_modules', 'policy-gate') };
}

/** Every package name under a node_modules directory, nested ones included. */
function packagesUnder(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  const names: string[] = [];
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name)).map((n) => `${entry.name}/${n}`)
      : [entry.name];
    for (const name of dirs) names.push(name, ...packagesUnder(join(nodeModules, name, 'node_modules')));
  }
  return names;
}

describe('the installed policy-gate', () => {
  let installed: Installed;
  // Measured on two busy cores: pack 27–30 s, install 2.5–4.5 min, nearly all of it compiling
  // better-sqlite3's SQLite (its prebuilt binary cannot be downloaded here) and tree-sitter (its
  // prebuilt one needs a newer libstdc++ than Debian 12's). The limit only ends a hang.
  beforeAll(async () => {
    installed = await packAndInstall();
  }, 20 * 60_000);

  /**
   * Run the installed `<prefix>/bin/policy-gate` as a user's shell would: in a directory outside
   * the repository, with a HOME of its own and a PATH of the prefix's bin and node's directory.
   */
  function runInstalled(
    argv: readonly string[],
    options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
  ): Promise<CliResult> {
    const bin = join(installed.prefix, 'bin');
    return run(join(bin, 'policy-gate'), argv, {
      cwd: options.cwd ?? tempDir(),
      env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tempDir(), ...options.env },
      stdin: options.stdin ?? '',
      timeoutMs: 120_000,
    });
  }

  it('the tarball holds the bundle, the policies, the README and package.json, and nothing else', async () => {
    const entries = (
      await run('tar', ['-tzf', installed.tarball], { cwd: ROOT, env: process.env, timeoutMs: 60_000 })
    ).stdout
      .split('\n')
      .filter((e) => e !== '');
    expect(entries).toContain('package/dist/bin/policy-gate.js');
    expect(entries).toContain('package/dist/bin/policy-gate.cjs'); // the bin: the thin client's stub
    expect(entries).toContain('package/policies/gate.yaml');
    expect(entries).toContain('package/policies/schema/rules.schema.json');
    expect(entries.filter((e) => !/^package\/(package\.json|README\.md|dist\/bin\/.+|policies\/.+)$/.test(e))).toEqual(
      [],
    );
  });

  it('--version', async () => {
    const r = await runInstalled(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('needs no dev dependency: none is installed, the runtime dependencies are', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const names = packagesUnder(join(installed.packageDir, 'node_modules'));
    for (const runtime of Object.keys(pkg.dependencies)) expect(names).toContain(runtime);
    // the build and test tools by name too, should one ever be listed as a runtime dependency
    const devOnly = new Set([...Object.keys(pkg.devDependencies), 'esbuild', 'typescript', 'vitest']);
    expect(names.filter((n) => devOnly.has(n))).toEqual([]);
    expect(existsSync(join(installed.packageDir, 'policies', 'gate.yaml'))).toBe(true);
  });

  // The same command through the installed binary and through this checkout's CLI in process: the
  // installed one found its shipped policies and decides the same. --no-wait: a command held for
  // review answers pending at once rather than wait for a reviewer.
  async function bothWays(command: string): Promise<[CliResult, CliResult]> {
    const check = (store: string): string[] => ['check', '--json', '--no-wait', '--store', store, '--', command];
    const store = join(tempDir(), 'store', 'audit.db');
    const here = await runCli(check(join(tempDir(), 'audit.db')));
    const there = await runInstalled(check(store));
    expect(existsSync(store), there.stderr).toBe(true);
    return [here, there];
  }

  const verdict = (r: CliResult): unknown => {
    const d = JSON.parse(r.stdout) as Record<string, unknown> & { signals: { rule_id: string }[] };
    return {
      code: r.code,
      decision: d.decision,
      decided_by: d.decided_by,
      risk_score: d.risk_score,
      rules: d.signals.map((s) => s.rule_id),
    };
  };

  it('check of a benign command: allowed (exit 0), recorded in the store given with --store', async () => {
    const [here, there] = await bothWays('git status');
    expect(there.code, there.stderr).toBe(ExitCode.Allowed);
    expect(verdict(there)).toEqual(verdict(here));
  });

  it('check --json of a destructive command: not allowed, as the engine decides', async () => {
    const [here, there] = await bothWays('rm -rf /');
    expect(verdict(there)).toEqual(verdict(here));
    expect(there.code).not.toBe(ExitCode.Allowed);
    expect(['denied', 'pending']).toContain((JSON.parse(there.stdout) as { decision: string }).decision);
  });

  it('policy test runs the shipped policies’ examples and cases', async () => {
    const r = await runInstalled(['policy', 'test', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it('init scaffolds a policy repository from the shipped policies and schemas', async () => {
    const dir = tempDir();
    const r = await runInstalled(['init', dir, '--json', '--gate-source', `file:${installed.tarball}`]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { files: string[] }).files).toContain('policies/schema/whitelist.schema.json');
    expect(readFileSync(join(dir, '.github/workflows/policy.yml'), 'utf8')).toContain(
      `POLICY_GATE_SOURCE: ${JSON.stringify(`file:${installed.tarball}`)}`,
    );
  });

  it('hook claude answers in Claude Code’s format: allow when whitelisted, deny (exit 2) when critical', async () => {
    const store = join(tempDir(), 'audit.db');
    const cwd = tempDir();
    const payload = (command: string): string =>
      JSON.stringify({
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command },
        session_id: 's',
        cwd,
      });
    const allow = await runInstalled(['hook', 'claude', '--store', store], { stdin: payload('git status'), cwd });
    expect(allow.code, allow.stderr).toBe(0);
    expect(JSON.parse(allow.stdout).hookSpecificOutput.permissionDecision).toBe('allow');
    const deny = await runInstalled(['hook', 'claude', '--store', store], { stdin: payload('rm -rf /'), cwd });
    expect(deny.code).toBe(2);
    expect(JSON.parse(deny.stdout).hookSpecificOutput.permissionDecision).toBe('deny');
    expect(deny.stderr).toMatch(/denied by policy rule/);
  });

  it('install claude writes a hook that runs the installed package, and doctor proves it by running it', async () => {
    const cwd = tempDir();
    const home = tempDir();
    const store = join(tempDir(), 'audit.db');
    const install = await runInstalled(['install', 'claude', '--store', store], { cwd, env: { HOME: home } });
    expect(install.code, install.stderr).toBe(0);
    const settings = JSON.parse(readFileSync(join(cwd, '.claude', 'settings.json'), 'utf8'));
    expect(settings.hooks.PreToolUse[0].hooks[0].command).toContain(
      join(installed.packageDir, 'dist', 'bin', 'policy-gate.js'),
    );
    const doctor = await runInstalled(['doctor', 'claude', '--json', '--store', store], { cwd, env: { HOME: home } });
    expect(doctor.code, doctor.stdout).toBe(0);
    const findings = (JSON.parse(doctor.stdout) as { findings: { level: string; check: string }[] }).findings;
    expect(findings.filter((f) => f.check === 'runs' && f.level === 'ok')).toHaveLength(4);
  });
});
