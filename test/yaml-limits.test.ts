/**
 * Every YAML load is bounded (engine/yaml.ts): no aliases (the billion laughs), at most 1 MiB a
 * file, duplicate keys found in linear time. A policy past a limit is a policy error — exit 2 and
 * one line naming the file — from `check`, `policy lint` and `policy test`, never exit 70, and a
 * compiled-policy cache cannot serve it warm.
 */
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateError, loadPolicy } from '../engine/index.js';
import { listFiles, policyRevision } from '../engine/gate/load-policy.js';
import { appendRules } from '../engine/authoring/whitelist-file.js';
import { MAX_YAML_BYTES } from '../engine/util/yaml.js';
import { POLICY_DIR, runBin, tempDir, type CliResult } from './helpers.js';

/** Nine levels of nine aliases: 9^9 (387 million) strings once expanded, 400 bytes on disk. */
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((n, i) => {
    const prev = 'abcdefgh'[i]!;
    return `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`;
  }),
  '',
].join('\n');

/** A rule file that is valid in every other way, padded with a comment to `bytes` bytes. */
function paddedRules(bytes: number): string {
  const rules = `rules: []\n# `;
  return `${rules}${'x'.repeat(bytes - rules.length - 1)}\n`;
}

/** A copy of the shipped policies with extra files (relative path → content). */
function policyWith(files: Record<string, string>): string {
  const dir = join(tempDir(), 'policies');
  cpSync(POLICY_DIR, dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return dir;
}

/** `check`, `policy lint` and `policy test` on `dir`, each in its own process (one at a time: two shared cores). */
async function allThree(dir: string): Promise<{ check: CliResult; lint: CliResult; test: CliResult }> {
  const check = await runBin(['check', '--policy', dir, '--store', join(tempDir(), 'audit.db')], {
    stdin: 'git status',
  });
  const lint = await runBin(['policy', 'lint', '--policy', dir]);
  const test = await runBin(['policy', 'test', '--policy', dir]);
  return { check, lint, test };
}

/** Real processes, and lint runs every example: generous on a loaded machine. */
const SLOW = 120_000;

describe('YAML limits in every policy load', () => {
  it(
    'a billion-laughs rules file: check, policy lint and policy test exit 2 naming the file and the alias (not 70)',
    async () => {
      const dir = policyWith({ 'rules/bomb.yaml': BILLION_LAUGHS });
      const { check, lint, test } = await allThree(dir);
      const line = /rules\/bomb\.yaml:2: YAML: alias \*a: aliases are not allowed in policy files/;
      expect(check.code, check.stderr).toBe(2);
      expect(check.stderr).toMatch(new RegExp(`^policy-gate: error: ${line.source}`));
      expect(check.stderr.trim().split('\n')).toHaveLength(1);
      expect(lint.code, lint.stderr).toBe(2);
      expect(lint.stdout).toMatch(/^rules\/bomb\.yaml:2: PG100: YAML: alias \*a: /m);
      expect(test.code, test.stderr).toBe(2);
      expect(test.stderr).toMatch(line);
      for (const r of [check, lint, test]) expect(r.stderr).not.toMatch(/internal error/);
    },
    SLOW,
  );

  it(
    'a file over 1 MiB: check, policy lint and policy test exit 2 naming it; one of exactly 1 MiB is read',
    async () => {
      expect(MAX_YAML_BYTES).toBe(1024 * 1024);
      const dir = policyWith({ 'rules/zz-big.yaml': paddedRules(MAX_YAML_BYTES + 1) });
      const { check, lint, test } = await allThree(dir);
      const line = /rules\/zz-big\.yaml: YAML: the file is larger than 1 MiB, the limit for a policy file/;
      expect(check.code, check.stderr).toBe(2);
      expect(check.stderr).toMatch(line);
      expect(lint.code, lint.stderr).toBe(2);
      expect(lint.stdout).toMatch(/^rules\/zz-big\.yaml:1: PG100: YAML: the file is larger than 1 MiB/m);
      expect(test.code, test.stderr).toBe(2);
      expect(test.stderr).toMatch(line);
      for (const r of [check, lint, test]) expect(r.stderr).not.toMatch(/internal error/);

      // the limit itself is allowed
      writeFileSync(join(dir, 'rules', 'zz-big.yaml'), paddedRules(MAX_YAML_BYTES));
      expect(statSync(join(dir, 'rules', 'zz-big.yaml')).size).toBe(MAX_YAML_BYTES);
      expect(listFiles(dir).find((f) => f.name === 'rules/zz-big.yaml')?.text.length).toBe(MAX_YAML_BYTES);
    },
    SLOW,
  );

  it(
    'a compiled-policy cache cannot serve a policy past the limits: size is checked before the cache, ' +
      'and caches from before the limits are stale',
    async () => {
      const dir = policyWith({});
      const store = join(tempDir(), 'state', 'audit.db');
      const cache = join(dirname(store), 'cache');
      await loadPolicy(dir, { cacheDir: cache, git: false });
      const [warm] = readdirSync(cache).filter((f) => f.startsWith('policy-v'));
      const current = warm!.replace(/[0-9a-f]{32}\.json$/, '');
      const { format, source } = JSON.parse(readFileSync(join(cache, warm!), 'utf8')) as {
        format: number;
        source: { revision: string; files: string[] };
      };
      /** A cache entry for the policy as it is now, as if compiled from exactly these files. */
      const plant = (prefix: string, cacheFormat: number): void => {
        const files = [
          'gate.yaml',
          'reviewers.yaml',
          ...['rules', 'whitelist'].flatMap((sub) => readdirSync(join(dir, sub)).map((f) => `${sub}/${f}`)),
        ];
        const revision = policyRevision(files.map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') })));
        writeFileSync(
          join(cache, `${prefix}${revision.slice(7, 39)}.json`),
          JSON.stringify({ format: cacheFormat, source: { ...source, revision, files } }),
        );
      };
      const check = () => runBin(['check', '--policy', dir, '--store', store], { stdin: 'git status' });

      // an oversized file is refused while the files are read, before their hash finds a cache entry
      writeFileSync(join(dir, 'whitelist', 'big.yaml'), `whitelist: []\n# ${'x'.repeat(MAX_YAML_BYTES)}\n`);
      plant(current, format);
      const big = await check();
      expect(big.code, big.stderr).toBe(2);
      expect(big.stderr).toMatch(/whitelist\/big\.yaml: YAML: the file is larger than 1 MiB/);
      rmSync(join(dir, 'whitelist', 'big.yaml'));

      // an alias a version before the limits accepted (and cached, format 3) must fail its load now
      writeFileSync(
        join(dir, 'whitelist', 'team.yaml'),
        `whitelist:
  - id: team.hugo
    owner: &owner platform-team
    reason: builds the documentation site
    pattern: hugo [--minify]
    examples: { match: [hugo, hugo --minify], no_match: [hugo server] }
  - id: team.hugo-version
    owner: *owner
    reason: prints the version
    pattern: hugo version
    examples: { match: [hugo version], no_match: [hugo] }
`,
      );
      plant('policy-v3-', 3);
      const alias = await check();
      expect(alias.code, alias.stderr).toBe(2);
      expect(alias.stderr).toMatch(/whitelist\/team\.yaml:8: YAML: alias \*owner: aliases are not allowed/);
    },
    SLOW,
  );

  it(
    'duplicate keys are found in linear time: a 1 MiB mapping is judged in seconds, ' +
      'and a repeated key is named with its line',
    async () => {
      // 90,000 keys in one mapping: about 3 s to parse here, while the yaml package's own
      // uniqueKeys check (every key against every other) takes over a minute, past the timeout.
      // The file sorts first, so the load stops right after parsing it.
      let keys = 'rules: []\nextra:\n';
      for (let i = 0; keys.length < MAX_YAML_BYTES - 64; i++) keys += `  key${i}: 1\n`;
      await expect(loadPolicy(policyWith({ 'rules/aa-wide.yaml': keys }), { git: false })).rejects.toThrow(
        /^schema: must NOT have additional properties "extra"$/,
      );

      const twice = await runBin(
        [
          'check',
          '--policy',
          policyWith({ 'rules/aa-twice.yaml': 'rules: []\nsets:\n  words:\n    a: [x]\n    a: [y]\n' }),
          '--store',
          join(tempDir(), 'audit.db'),
        ],
        { stdin: 'git status' },
      );
      expect(twice.code, twice.stderr).toBe(2);
      expect(twice.stderr).toMatch(/rules\/aa-twice\.yaml:5: YAML: map keys must be unique: "a" is repeated/);
    },
    45_000,
  );

  it('whitelist propose will not edit a whitelist file past the limits: a policy error naming it', () => {
    const rule = { id: 'team.hugo', owner: 't', reason: 'r', pattern: 'hugo', examples: { match: ['hugo'] } };
    let thrown: unknown;
    try {
      appendRules('whitelist:\n  - &r {id: a}\n  - *r\n', [rule], 'whitelist/team.yaml');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GateError);
    expect((thrown as GateError).code).toBe('policy-invalid');
    expect((thrown as GateError).oneLine).toBe(
      'whitelist/team.yaml:3: YAML: alias *r: aliases are not allowed in policy files (write the value out)',
    );
  });

  it(
    'the shipped policies are far below the size limit, use no alias, and load',
    async () => {
      for (const f of listFiles(POLICY_DIR)) expect(f.text.length, f.name).toBeLessThan(MAX_YAML_BYTES / 16);
      const policy = await loadPolicy(POLICY_DIR, { cacheDir: tempDir(), git: false });
      expect(policy.rules.length).toBeGreaterThan(0);
      expect(policy.whitelist.length).toBeGreaterThan(0);
    },
    SLOW,
  );
});
