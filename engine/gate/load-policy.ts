/**
 * Load a policy directory: read the files, validate them against the published JSON Schemas,
 * check ids and references, run every rule's examples, compile. The validated definitions are
 * cached as JSON keyed by the hash of the files, so a warm start reads a few small files,
 * hashes them and compiles closures: no YAML, no schema validation, no example runs.
 */
import { makeDirectories } from '../util/fs.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GateError, describeCause } from '../util/errors.js';
import { readYamlFile, parseYaml } from '../util/yaml.js';
import { compileWhitelistRule, type CompiledWhitelistRule } from '../whitelist/coverage.js';
import { PatternError } from '../whitelist/pattern.js';
import { whitelistProvenance } from '../whitelist/provenance.js';
import type { CompiledRule, Policy } from './policy.js';
import { parsePublicKey } from '../util/sshsig.js';
import { matchAnchor } from '../policy/anchors.js';
import { isTimeZone } from '../risk/context.js';
import { Compiler, type ScriptMatcher } from '../policy/match.js';
import type { Category } from '../model/signals.js';
import type {
  GateDefinition,
  PolicySource,
  ReviewerDefinition,
  RuleDefinition,
  SetsDefinition,
  WhitelistRuleDefinition,
} from '../policy/types.js';

/**
 * Bumped when the cached form or the compiler changes meaning, so stale caches are ignored.
 * 4: the YAML limits (engine/yaml.ts) — a cache written before them may hold a policy with
 * aliases, which must now fail its load rather than be served warm.
 * 5: off_hours.timezone is checked at load — a cache written before may hold an unknown zone.
 */
const CACHE_FORMAT = 5;

export interface LoadOptions {
  /** Where to keep the compiled cache; no cache when omitted. */
  readonly cacheDir?: string | undefined;
  /** Look up whitelist provenance in Git (default true). */
  readonly git?: boolean;
  /**
   * `enforce` (default): examples run on a cold load and any failure fails the load.
   * `report`: examples are left to the caller (`policy test` reports every failure); nothing is
   * cached, since the policy was not verified.
   */
  readonly examples?: 'enforce' | 'report';
}

export interface PolicyFile {
  readonly path: string;
  readonly name: string;
  readonly kind: 'gate' | 'rules' | 'whitelist' | 'reviewers';
  readonly text: string;
}

export function listFiles(dir: string): PolicyFile[] {
  const files: PolicyFile[] = [];
  // read within the size limit here, before the files are hashed into the cache key: a warm
  // start that finds a compiled cache never parses, so the parser alone could not enforce it
  const read = (path: string, kind: PolicyFile['kind']): void => {
    const name = relative(dir, path);
    files.push({ path, name, kind, text: readYamlFile(path, name) });
  };
  const yamlIn = (sub: string): string[] => {
    try {
      return readdirSync(join(dir, sub))
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(dir, sub, f));
    } catch {
      return [];
    }
  };
  try {
    readdirSync(dir);
  } catch (err) {
    throw new GateError('policy-invalid', `policy directory ${dir} cannot be read: ${describeCause(err)}`, {
      hint: 'pass --policy DIR (or POLICY_GATE_POLICY) pointing at a directory with gate.yaml and rules/',
    });
  }
  read(join(dir, 'gate.yaml'), 'gate');
  const rules = yamlIn('rules');
  if (rules.length === 0)
    throw new GateError('policy-invalid', `no rule files in ${join(dir, 'rules')}`, {
      location: { file: join(dir, 'rules') },
    });
  for (const f of rules) read(f, 'rules');
  for (const f of yamlIn('whitelist')) read(f, 'whitelist');
  if (existsSync(join(dir, 'reviewers.yaml'))) read(join(dir, 'reviewers.yaml'), 'reviewers');
  return files;
}

export function policyRevision(files: readonly { name: string; text: string }[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(f.name).update('\0').update(f.text).update('\0');
  }
  return `sha256:${h.digest('hex')}`;
}

export async function loadPolicy(dir: string, options: LoadOptions = {}): Promise<Policy> {
  const files = listFiles(dir);
  const revision = policyRevision(files);
  const cacheFile = options.cacheDir
    ? join(options.cacheDir, `policy-v${CACHE_FORMAT}-${revision.slice(7, 39)}.json`)
    : null;
  let source: PolicySource | null = cacheFile ? readCache(cacheFile, revision) : null;
  const cold = source === null;
  if (!source) source = await validate(files, revision);
  const compiled = compile(dir, source, { eager: cold });
  const provenance =
    options.git === false
      ? null
      : whitelistProvenance(
          dir,
          source.whitelist.map((w) => ({ id: w.id, file: w.file, line: w.line, line_end: w.line_end ?? w.line })),
          {
            protectedRef: source.gate.gitops?.protected_ref,
            requireSigned: source.gate.gitops?.require_signed,
            cacheDir: options.cacheDir,
            contentRevision: revision,
          },
        );
  const policy: Policy = {
    ...compiled,
    revision: provenance ? `${provenance.head}${provenance.dirty ? '-dirty' : ''}` : revision,
    provenance,
  };
  const enforce = options.examples !== 'report';
  if (cold && enforce) {
    const { checkExamples } = await import('./examples.js');
    const failures = checkExamples(policy);
    if (failures.length > 0) {
      const f = failures[0]!;
      throw new GateError(
        'policy-example-failed',
        `${f.message}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}`,
        {
          location: { file: f.file, line: f.line, rule: f.rule },
          hint: 'run `policy-gate policy test` for every failure',
        },
      );
    }
  }
  if (cold && enforce && cacheFile) writeCache(cacheFile, source);
  return policy;
}

function readCache(file: string, revision: string): PolicySource | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { format: number; source: PolicySource };
    if (parsed.format !== CACHE_FORMAT || parsed.source.revision !== revision) return null;
    return parsed.source;
  } catch {
    return null;
  }
}

function writeCache(file: string, source: PolicySource): void {
  // a cache is an optimisation: failing to write it must never fail a check
  try {
    makeDirectories(join(file, '..'));
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: CACHE_FORMAT, source }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    /* ignored */
  }
}

// -------------------------------------------------------------------------------------------------
// validation (cold path only)

type Validator = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null;
};

interface Parsed {
  file: PolicyFile;
  data: Record<string, unknown>;
  lineOf: (path: (string | number)[]) => number;
  /** The last line of the node at `path` (a rule's YAML span ends there). */
  endLineOf: (path: (string | number)[]) => number;
}

function parsePolicyFile(file: PolicyFile): Parsed {
  const { doc, data, lineAt } = parseYaml(file.text, file.name);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new GateError('policy-invalid', 'expected a mapping at the top of the file', {
      location: { file: file.name, line: 1 },
    });
  }
  const rangeOf = (path: (string | number)[]): readonly number[] | undefined =>
    (doc.getIn(path, true) as { range?: readonly number[] } | undefined)?.range;
  const lineOf = (path: (string | number)[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const range = rangeOf(path.slice(0, n));
      if (range) return lineAt(range[0]!);
    }
    return 1;
  };
  const endLineOf = (path: (string | number)[]): number => {
    const range = rangeOf(path);
    if (!range) return lineOf(path);
    // the value ends before the trailing newline of its last line
    return lineAt(Math.max(range[0]!, range[1]! - 1));
  };
  return { file, data: data as Record<string, unknown>, lineOf, endLineOf };
}

function schemaError(p: Parsed, validator: Validator): GateError {
  const err = validator.errors?.[0];
  const path = (err?.instancePath ?? '')
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  const list =
    path[0] === 'rules' || path[0] === 'whitelist' ? (p.data[path[0]] as { id?: string }[] | undefined) : undefined;
  const rule = list && typeof path[1] === 'number' ? list[path[1]]?.id : undefined;
  const where = err?.instancePath ? `${err.instancePath}: ` : '';
  const extra =
    err?.params && 'additionalProperty' in err.params
      ? ` "${String(err.params.additionalProperty)}"`
      : err?.params && 'allowedValues' in err.params
        ? `: ${(err.params.allowedValues as unknown[]).join(', ')}`
        : '';
  return new GateError('policy-invalid', `schema: ${where}${err?.message ?? 'invalid'}${extra}`, {
    location: { file: p.file.name, line: p.lineOf(path), ...(rule ? { rule } : {}) },
  });
}

/** How validation reports a problem: the loader throws at the first, lint collects them all. */
export type Report = (error: GateError) => void;
const fail: Report = (error) => {
  throw error;
};

export async function validate(
  files: readonly PolicyFile[],
  revision: string,
  report: Report = fail,
): Promise<PolicySource> {
  const validators = (await import('../policy/generated/validators.js')) as unknown as Record<
    PolicyFile['kind'],
    Validator
  >;
  const rules: PolicySource['rules'] = [];
  const whitelist: PolicySource['whitelist'] = [];
  const reviewers: PolicySource['reviewers'] = [];
  const sets: Required<SetsDefinition> = { segments: {}, words: {} };
  let gate: GateDefinition | null = null;
  const seen = new Map<string, string>();
  for (const file of files) {
    let p: Parsed;
    try {
      p = parsePolicyFile(file);
    } catch (err) {
      if (!(err instanceof GateError)) throw err;
      report(err);
      continue;
    }
    const validator = validators[file.kind];
    if (!validator(p.data)) {
      report(schemaError(p, validator));
      continue;
    }
    if (file.kind === 'gate') {
      const definition = p.data as unknown as GateDefinition;
      const { medium, high, critical } = definition.levels;
      if (!(medium < high && high < critical)) {
        report(
          new GateError('policy-invalid', 'levels must rise: medium < high < critical', {
            location: { file: file.name, line: p.lineOf(['levels']) },
          }),
        );
      }
      const zone = definition.context.off_hours?.timezone;
      if (zone !== undefined && !isTimeZone(zone)) {
        // no command can be judged in a zone that does not exist: as a gate.yaml that fails its schema
        report(
          new GateError(
            'policy-invalid',
            `context.off_hours.timezone: unknown time zone ${JSON.stringify(zone)} ` +
              '(an IANA name such as Europe/Paris, UTC or an offset such as +02:00; leave it out for the system zone)',
            { location: { file: file.name, line: p.lineOf(['context', 'off_hours', 'timezone']) } },
          ),
        );
        continue;
      }
      gate = definition;
      continue;
    }
    if (file.kind === 'rules') {
      const data = p.data as { rules?: RuleDefinition[]; sets?: SetsDefinition };
      for (const [kind, defs] of [
        ['segments', data.sets?.segments],
        ['words', data.sets?.words],
      ] as const) {
        for (const [name, def] of Object.entries(defs ?? {})) {
          if (name in sets[kind]) {
            report(
              new GateError('policy-invalid', `${kind} set "${name}" is defined twice`, {
                location: { file: file.name, line: p.lineOf(['sets', kind, name]) },
              }),
            );
            continue;
          }
          (sets[kind] as Record<string, unknown>)[name] = def;
        }
      }
      (data.rules ?? []).forEach((r, i) => {
        const line = p.lineOf(['rules', i]);
        const other = seen.get(r.id);
        if (other) {
          report(
            new GateError('policy-invalid', `duplicate rule id (first defined at ${other})`, {
              location: { file: file.name, line, rule: r.id },
            }),
          );
          return;
        }
        seen.set(r.id, `${file.name}:${line}`);
        if (!r.examples?.match?.length)
          report(
            new GateError('policy-invalid', 'the rule has no examples.match: a rule without examples proves nothing', {
              location: { file: file.name, line, rule: r.id },
            }),
          );
        rules.push({ ...r, file: file.name, line });
      });
      continue;
    }
    if (file.kind === 'reviewers') {
      const keys = new Map<string, string>();
      (p.data as { reviewers: ReviewerDefinition[] }).reviewers.forEach((r, i) => {
        const line = p.lineOf(['reviewers', i]);
        const at = { location: { file: file.name, line, rule: r.id } };
        const other = seen.get(`reviewer:${r.id}`);
        if (other)
          return report(new GateError('policy-invalid', `duplicate reviewer id (first defined at ${other})`, at));
        seen.set(`reviewer:${r.id}`, `${file.name}:${line}`);
        let fingerprint: string;
        try {
          fingerprint = parsePublicKey(r.key).fingerprint;
        } catch (err) {
          return report(new GateError('policy-invalid', `key: ${(err as Error).message}`, at));
        }
        const owner = keys.get(fingerprint);
        if (owner)
          return report(
            new GateError(
              'policy-invalid',
              `key ${fingerprint} is already reviewer ${owner}'s: one key, one reviewer`,
              at,
            ),
          );
        keys.set(fingerprint, r.id);
        reviewers.push({ ...r, file: file.name, line });
      });
      continue;
    }
    const data = p.data as { whitelist: WhitelistRuleDefinition[] };
    data.whitelist.forEach((w, i) => {
      const line = p.lineOf(['whitelist', i]);
      const lineEnd = p.endLineOf(['whitelist', i]);
      const key = `whitelist:${w.id}`;
      const other = seen.get(key);
      if (other) {
        report(
          new GateError('policy-invalid', `duplicate whitelist id (first defined at ${other})`, {
            location: { file: file.name, line, rule: w.id },
          }),
        );
        return;
      }
      seen.set(key, `${file.name}:${line}`);
      if (!w.examples?.match?.length)
        report(
          new GateError('policy-invalid', 'the whitelist rule has no examples.match', {
            location: { file: file.name, line, rule: w.id },
          }),
        );
      whitelist.push({ ...w, file: file.name, line, line_end: lineEnd });
    });
  }
  if (!gate) {
    report(new GateError('policy-invalid', 'gate.yaml is missing or invalid', { location: { file: 'gate.yaml' } }));
    throw new GateError('policy-invalid', 'gate.yaml is missing or invalid', { location: { file: 'gate.yaml' } });
  }
  return { rules, sets, whitelist, gate, reviewers, revision, files: files.map((f) => f.name) };
}

// -------------------------------------------------------------------------------------------------
// compilation (every load)

export function compile(dir: string, source: PolicySource, options: { eager?: boolean; report?: Report } = {}): Policy {
  const gate = source.gate;
  const base = new Compiler(source.sets, {}, undefined, options.eager ?? true);
  const eager = options.eager ?? true;
  const report = options.report ?? fail;
  const tolerant = <T>(make: () => T): T | null => {
    try {
      return make();
    } catch (err) {
      if (!(err instanceof GateError)) throw err;
      report(err);
      return null;
    }
  };
  const rules: CompiledRule[] = [];
  for (const r of source.rules) {
    const compiler = base.at({ file: r.file, line: r.line, rule: r.id });
    let matcher: ScriptMatcher | null = eager ? tolerant(() => compiler.match(r.match)) : null;
    if (eager && matcher === null) continue;
    rules.push({
      id: r.id,
      category: r.category,
      score: r.score ?? gate.severity_scores[r.severity ?? 'medium'],
      description: r.description,
      message: r.message ?? r.description,
      waivable: r.waivable ?? true,
      file: r.file,
      line: r.line,
      anchor: matchAnchor(r.match, source.sets),
      get matcher(): ScriptMatcher {
        return (matcher ??= compiler.match(r.match));
      },
      definition: r,
    });
  }
  const whitelist: CompiledWhitelistRule[] = [];
  for (const w of source.whitelist) {
    const compiled = tolerant(() => {
      try {
        return compileWhitelistRule(w, eager);
      } catch (err) {
        if (err instanceof PatternError)
          throw new GateError('policy-invalid', `pattern: ${err.message}`, {
            location: { file: w.file, line: w.line, rule: w.id },
          });
        throw err;
      }
    });
    if (compiled) whitelist.push(compiled);
  }
  return {
    dir,
    revision: source.revision,
    contentRevision: source.revision,
    provenance: null,
    source,
    rules,
    whitelist,
    gate,
  };
}
