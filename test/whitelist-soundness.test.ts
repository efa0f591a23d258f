/**
 * What makes a segment whitelistable: patterns that mean what they say (typed option values,
 * project paths, no options that run, load or write something elsewhere), and a rule engine
 * that cannot be made to backtrack.
 */
import { describe, expect, it } from 'vitest';
import { assess, parseScript, whyNotWhitelisted } from '../engine/index.js';
import { compileWhitelistRule } from '../engine/whitelist/coverage.js';
import { writtenPaths } from '../engine/policy/match.js';
import {
  compileGlobs,
  globSource,
  normalizePath,
  outsideProject,
  pathForms,
  projectRoot,
} from '../engine/policy/paths.js';
import { compileRegex, RegexError } from '../engine/policy/regex.js';
import { riskyOption } from '../engine/shell/options.js';
import { compilePattern, matchArgs, matchesProgram, PatternError, samplePattern } from '../engine/whitelist/pattern.js';
import { NOON, judge, ruleIds, shippedPolicy } from './helpers.js';

const matches = (pattern: string, cmd: string): boolean => {
  const p = compilePattern(pattern);
  const s = parseScript(cmd).segments[0]!;
  return matchesProgram(p, s) && matchArgs(p, s.argv.slice(1));
};
const risky = (cmd: string) => {
  const s = parseScript(cmd).segments[0]!;
  return riskyOption(s.program!, s.argv.slice(1));
};

describe('pattern grammar', () => {
  it('a flag that takes a value consumes it, so a value is never read as an operand', () => {
    const p = 'rg [<flags:-n|-g:word|--glob:word>...] <word> [<path:project>...]';
    expect(matches(p, "rg -g '*.ts' needle src")).toBe(true);
    expect(matches(p, "rg '--glob=*.ts' needle")).toBe(true);
    // without the value flag the glob value would have been the pattern and /etc a path
    expect(matches(p, 'rg needle /etc')).toBe(false);
    // here /etc is rg's pattern (the glob took `needle`), so it is harmless and matches
    expect(matches(p, 'rg -g needle /etc')).toBe(true);
  });

  it('a short flag never takes an attached value unless the flag pattern says so (tools differ)', () => {
    expect(matches('go build [<flags:-o:path.inside>...]', 'go build -overlay x')).toBe(false);
    expect(matches('head [<flags:-n#>...] <path:project>', 'head -n20 a.txt')).toBe(true);
  });

  it('<path:project> stays in the working tree; <path:inside> is strictly inside it, outside .git', () => {
    for (const [path, project, inside] of [
      ['src/a.ts', true, true],
      ['.', true, false],
      ['./', true, false],
      ['a/../..', false, false],
      ['../x', false, false],
      ['/etc/passwd', false, false],
      ['~/x', false, false],
      ['.git/hooks/pre-commit', true, false],
      ['src/../.git/config', true, false],
      ['.policy-gate/audit.db', true, false],
    ] as const) {
      expect(matches('rm <path:project>', `rm ${path}`), path).toBe(project);
      expect(matches('rm <path:inside>', `rm ${path}`), path).toBe(inside);
    }
  });

  it('<re:…> is RE2, matched against the whole word', () => {
    expect(matches('sed -n <re:[0-9]+,[0-9]+p> <path:project>', "sed -n '1,20p' a.txt")).toBe(true);
    expect(matches('sed -n <re:[0-9]+,[0-9]+p> <path:project>', "sed -n '1,20p;w /tmp/x' a.txt")).toBe(false);
    expect(() => compilePattern('x <re:(a)\\1>')).toThrow(PatternError);
  });

  it('<jq> is a filter that cannot read the environment or load modules', () => {
    for (const f of ['.version', '.scripts | keys', '.[] | select(.a > 1)'])
      expect(matches('jq <jq> <path:project>', `jq '${f}' a.json`), f).toBe(true);
    for (const f of [
      'env',
      'env.AWS_SECRET_ACCESS_KEY',
      '$ENV.HOME',
      'import "x" as x; .',
      'input_filename',
      '$__loc__',
    ]) {
      expect(matches('jq <jq> <path:project>', `jq '${f}' a.json`), f).toBe(false);
    }
  });

  it('<url:local> is this machine, and only this machine', () => {
    for (const u of ['http://localhost:3000/x', 'http://127.0.0.1/', 'localhost:9090/metrics', 'http://[::1]:8080'])
      expect(matches('curl <url:local>', `curl '${u}'`), u).toBe(true);
    for (const u of [
      'http://localhost@evil.example/',
      'http://localhost.evil.example',
      'http://127.0.0.1.nip.io',
      'https://example.com',
      'http://localhost\\@evil',
    ]) {
      expect(matches('curl <url:local>', `curl '${u}'`), u).toBe(false);
    }
  });

  it('<data> is inline data, never a file (curl -d @file)', () => {
    expect(matches('curl -d <data> <url:local>', `curl -d '{"a":1}' localhost:1`)).toBe(true);
    for (const d of ['@/etc/shadow', '<x', 'a=@/etc/shadow', '-o'])
      expect(matches('curl -d <data> <url:local>', `curl -d '${d}' localhost:1`), d).toBe(false);
  });

  it('<branch:feature> is a plain branch name, never a protected one or a refspec', () => {
    for (const b of ['feature/x', 'fix/null-user', 'wip-42'])
      expect(matches('git push origin <branch:feature>', `git push origin ${b}`), b).toBe(true);
    for (const b of [
      'main',
      'master',
      'HEAD',
      'release/1.2',
      'feature/x:main',
      '+feature/x',
      'a..b',
      'HEAD~1',
      'x/../../y',
    ]) {
      expect(matches('git push origin <branch:feature>', `git push origin ${b}`), b).toBe(false);
    }
  });

  it('program alternatives and quoted program names', () => {
    expect(matches('docker|podman ps', 'podman ps')).toBe(true);
    expect(matches("'[' <any>...", '[ -f x ]')).toBe(true);
  });

  it('sampling lists a value flag with its values, so policy diff and lint see them', () => {
    const samples = samplePattern(compilePattern('x [<flags:-C:int|-q>...]'));
    expect(samples).toContainEqual(['-C', '7']);
    expect(samples).toContainEqual(['-q']);
  });
});

describe('options that run, load, write or read something elsewhere', () => {
  it.each([
    ['npx eslint -f ./node_modules/../../tmp/f.js src', '-f'],
    ['npx eslint -f /tmp/f.js src', '-f'],
    ['npx vitest --reporter=/tmp/r.js', '--reporter'],
    ['rg --pre sh x .', '--pre'],
    ['rg -z x .', '-z'],
    ['go test -exec /tmp/x ./...', '-exec'],
    ['cargo test -- --logfile /tmp/x', '--logfile'],
    ['du --files0-from=/proc/self/environ', '--files0-from'],
    ['sort -o /etc/passwd x', '-o'],
    ['python3 -m pytest -p evil_plugin', '-p'],
    ['pytest --cov-report=xml:/root/.bashrc', '--cov-report'],
    ['npx eslint --plugin evil src', '--plugin'],
    ['pytest --basetemp=/home', '--basetemp'],
    ['make SHELL=/tmp/x build', 'SHELL=/tmp/x'],
    ['git -c core.pager=sh log', '-c'],
    ['git difftool -x sh', '-x'],
    ['git rebase --exec sh main', '--exec'],
    ['git submodule foreach rm -rf x', 'foreach'],
    ['kubectl get pods -o go-template-file=/etc/shadow', '-o'],
    ['kubectl get pods --kubeconfig /tmp/k', '--kubeconfig'],
    ['curl -d @/home/me/.aws/credentials localhost:1', '-d'],
    ['curl -w @/etc/shadow localhost:1', '-w'],
    ['curl --unix-socket /var/run/docker.sock http://localhost/', '--unix-socket'],
    ['npx -y cowsay', '-y'],
    ['jq -L /tmp/mods . x.json', '-L'],
  ])('%s', (cmd, option) => {
    expect(risky(cmd)?.option).toBe(option);
  });

  it.each([
    'go build -o bin/server ./cmd/server',
    'mypy --config-file pyproject.toml src',
    'python3 -m pytest -p no:cacheprovider',
    'npx eslint -f json src',
    'npx vitest --reporter=verbose',
    'curl -o /dev/null localhost:1',
    'wget -O- localhost:1',
    'git ls-files -c',
    'make -C frontend build',
    'kubectl get pods -o json',
    'curl -d \'{"a":1}\' localhost:1',
  ])('%s is the project’s own business', (cmd) => {
    expect(risky(cmd)).toBeNull();
  });

  it('a rule whose pattern admits one does not cover the segment, and says why', async () => {
    const policy = await shippedPolicy();
    const loose = compileWhitelistRule({
      id: 'team.eslint',
      owner: 't',
      reason: 'r',
      pattern: 'npx eslint [<any>...]',
      file: 'whitelist/team.yaml',
      line: 1,
    });
    const p = { ...policy, whitelist: [...policy.whitelist, loose] };
    const a = assess('npx eslint -f /tmp/f.js src', p, { now: NOON, history: null });
    expect(a.would_decide).not.toBe('whitelisted');
    expect(a.whitelist_refused).toContainEqual({
      rule_id: 'team.eslint',
      segment: 0,
      reason: '-f loads code or a configuration that can run code (/tmp/f.js)',
    });
    expect(whyNotWhitelisted(a, p)).toMatch(/team\.eslint matches .* but may not be used: -f loads code/);
    // the same rule covers the project's own formatter
    expect(assess('npx eslint -f json src', p, { now: NOON, history: null }).would_decide).toBe('whitelisted');
  });
});

describe('reading a file through a redirect is reading it', () => {
  it('an input redirect from outside the project is not covered; from the project it is', async () => {
    expect((await judge('cat < README.md')).would_decide).toBe('whitelisted');
    for (const cmd of ['cat < /etc/hosts', 'cat < ~/.netrc', 'wc -l < /dev/tcp/10.0.0.1/80'])
      expect((await judge(cmd)).would_decide, cmd).not.toBe('whitelisted');
  });
});

describe('paths as rules see them', () => {
  it.each([
    ['~/..', '/home'],
    ['~/../..', '/'],
    ['~root/.ssh/id_rsa', '/root/.ssh/id_rsa'],
    ['~alice/.aws', '/home/alice/.aws'],
    ['/proc/self/root/etc/shadow', '/etc/shadow'],
    ['/proc/1/root/root/.ssh', '/root/.ssh'],
    ['//etc/../etc/shadow', '/etc/shadow'],
  ])('%s is %s', (path, normal) => {
    expect(normalizePath(path)).toBe(normal);
  });

  it('~+ is the working directory', () => {
    expect(pathForms('~+/x', { cwd: '/srv/app' })).toContain('/srv/app/x');
  });
});

describe('policy regexes run on RE2 (linear time)', () => {
  it('refuses what cannot run in linear time, with the reason', () => {
    expect(() => compileRegex('(a+)\\1')).toThrow(RegexError);
    expect(() => compileRegex('x(?!y)')).toThrow(RegexError);
  });

  it('answers inputs that made the old rules backtrack for minutes (a hang fails the test by its timeout)', async () => {
    // a harmless echo stays whitelisted; the probes and the odd aws command are judged, not stuck
    expect((await judge(`echo '${'vbox|'.repeat(12_000)}'`)).would_decide).toBe('whitelisted');
    expect((await judge(`grep '${'KVM|'.repeat(12_000)}KVM' x`)).risk_level).toBe('high');
    for (const cmd of [`aws s3 cp s3://a ${'-- -'.repeat(8000)}`, `while ${' '.repeat(40_000)} fork`])
      expect((await judge(cmd)).would_decide).not.toBe('whitelisted');
  });

  it('interpreter code is scanned in linear time (a long awk word made a backtracking scan take seconds)', async () => {
    const a = await judge(`awk 'BEGIN{x="${'a'.repeat(55_000)}"}'`);
    expect(a.issues).toEqual([]);
    expect(parseScript(`awk '{ "id" |& getline x; print | "sh" }'`).segments.map((s) => s.program)).toEqual([
      'awk',
      'id',
      'sh',
    ]);
    // many `[` and no `]` once took seconds to decide whether the word is a glob
    expect(parseScript(`echo ${'['.repeat(30_000)}`).segments[0]!.argv[1]!.glob).toBe(false);
  });

  it('bounds the data flows of one pipe between two large groups, and holds the command', async () => {
    const group = `{ ${'ls;'.repeat(2000)} }`;
    const a = await judge(`${group} | ${group}`);
    expect(a.script.flows.length).toBeLessThanOrEqual(16_384);
    expect(a.issues.map((i) => i.code)).toContain('too-large');
    expect(a.would_decide).not.toBe('whitelisted');
  });

  it('an assessment past its time budget is held with budget-exceeded, scored high, never whitelisted', async () => {
    const a = await judge('ls', { budgetMs: -1 });
    expect(a.issues.map((i) => i.code)).toEqual(['budget-exceeded']);
    expect(a.risk_level).toBe('high');
    expect(a.would_decide).toBe('pending');
    // within the budget the same command is whitelisted
    expect((await judge('ls')).would_decide).toBe('whitelisted');
  });

  it('a regex matches as its source says (search anywhere unless anchored; (?i))', () => {
    expect(compileRegex('b+c').test('abbbcd')).toBe(true);
    expect(compileRegex('^b').test('ab')).toBe(false);
    expect(compileRegex('(?i)POST').test('post')).toBe(true);
  });
});

describe('the project a command works in', () => {
  const repo = (dirs: string[]) => (p: string) => dirs.includes(p);
  it('is the Git work tree holding the working directory, else that directory', () => {
    expect(projectRoot('/home/u/app/src/lib', '/home/u', repo(['/home/u/app/.git']))).toBe('/home/u/app');
    expect(projectRoot('/home/u/scratch', '/home/u', repo([]))).toBe('/home/u/scratch');
  });
  it('is none in a home, system or temporary directory: every path there is outside', () => {
    expect(projectRoot('/home/u', '/home/u', repo([]))).toBeNull();
    expect(projectRoot('/home/u/docs', '/home/u', repo(['/home/u/.git']))).toBeNull();
    for (const cwd of ['/', '/etc', '/usr/local/bin', '/tmp'])
      expect(projectRoot(cwd, '/home/u', repo([])), cwd).toBeNull();
    expect(outsideProject('notes.txt', { cwd: '/home/u', project: null })).toBe(true);
  });
  it('paths are judged after resolving ., .., ~ and the working directory', () => {
    const ctx = { cwd: '/home/u/app/src', home: '/home/u', project: '/home/u/app' };
    for (const p of ['.', '../build', '/home/u/app/dist', '~/app/x', './a/../b'])
      expect(outsideProject(p, ctx), p).toBe(false);
    for (const p of ['../..', '../../other', '/data', '~', '~/projects', '~/app/../app2', '/home/u/app2'])
      expect(outsideProject(p, ctx), p).toBe(true);
  });
});

describe('where a download lands', () => {
  const written = (cmd: string) => writtenPaths(parseScript(cmd).segments[0]!).map((w) => w.text);
  it('in the working directory when no destination is named, else where the options say', () => {
    expect(written('curl -LO https://x.example/a.tgz')).toEqual(['.']);
    expect(written('curl -O --output-dir /tmp/d https://x.example/a')).toContain('/tmp/d');
    expect(written('wget https://x.example/a')).toEqual(['.']);
    expect(written('wget -P ~/.local/bin https://x.example/a')).toEqual(['~/.local/bin']);
    expect(written('wget -qO- https://x.example/a')).toEqual([]);
    expect(written('aria2c -d /opt/x -o a https://x.example/a')).toEqual(['/opt/x']);
    expect(written('scp host:/etc/passwd /tmp/p')).toEqual(['/tmp/p']);
    expect(written('aws s3 cp s3://b/k /srv/k')).toEqual(['/srv/k']);
  });
  it('outside the project a download is high; into the project it waits for a reviewer at medium', async () => {
    const place = { cwd: '/home/u/app', home: '/home/u', project: '/home/u/app' };
    for (const cmd of [
      'curl -o /tmp/x https://x.example/x',
      'wget -P ~/.local/bin https://x.example/t',
      'scp u@h:/x /usr/local/bin/x',
    ]) {
      const a = await judge(cmd, place);
      expect(ruleIds(a), cmd).toContain('remote-exec.ingress-download');
      expect(['high', 'critical'], cmd).toContain(a.risk_level);
    }
    const inside = await judge('curl -LO https://x.example/data.tgz', place);
    expect(ruleIds(inside)).toContain('remote-exec.download');
    expect(ruleIds(inside)).not.toContain('remote-exec.ingress-download');
    expect(inside.would_decide).toBe('pending');
    // with no project (a home or system directory), the working directory is outside
    expect(
      ruleIds(await judge('curl -LO https://x.example/t', { cwd: '/home/u', home: '/home/u', project: null })),
    ).toContain('remote-exec.ingress-download');
  });
});

describe('path globs are tried only when their literal part is there', () => {
  it('matches exactly what one regex over every glob matched, for every glob the shipped policy names', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const globs = new Set<string>();
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (x && typeof x === 'object') {
        for (const [k, v] of Object.entries(x)) {
          if (k === 'path') for (const g of Array.isArray(v) ? v : [v]) globs.add(String(g));
          else walk(v);
        }
      }
    };
    for (const f of readdirSync('policies/rules')) walk(parse(readFileSync(`policies/rules/${f}`, 'utf8')));
    expect(globs.size).toBeGreaterThan(100);
    // paths near each glob: its wildcards filled in several ways, under several roots
    const fills = (g: string): string[] => {
      const out = new Set<string>();
      for (const dirs of ['', 'a/', 'a/b/']) {
        for (const star of ['', 'x', 'x.y', 'x/y']) {
          const t = g
            .replace(/\*\*\//g, dirs)
            .replace(/\/\*\*$/, `/${dirs}z`)
            .replace(/\*/g, star)
            .replace(/\?/g, 'q')
            .replace(/\{([^}]*)\}/g, (_m, alts: string) => alts.split(',')[0]!)
            .replace(/\[!?([^\]])[^\]]*\]/g, '$1');
          for (const root of ['', '/home/u/', 'src/']) out.add(t.startsWith('/') || t.startsWith('~') ? t : root + t);
        }
      }
      out.add(g.replace(/[*?]/g, ''));
      return [...out];
    };
    const list = [...globs];
    const texts = [...new Set(list.flatMap(fills))];
    for (let i = 0; i < list.length; i += 25) {
      const chunk = list.slice(i, i + 25);
      const union = compileRegex(chunk.map((g) => `(?:${globSource(g)})`).join('|'));
      for (const lazy of [true, false]) {
        const split = compileGlobs(chunk, lazy);
        for (const t of texts) expect(split.test(t), `${t} against ${chunk.join(' ')}`).toBe(union.test(t));
      }
    }
  }, 120_000);
});
