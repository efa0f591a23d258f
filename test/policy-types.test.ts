import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORIES } from '../engine/model/signals.js';
import { LEVELS } from '../engine/model/verdict.js';
import * as validators from '../engine/policy/generated/validators.js';
import type { Expect, RuleDefinition, Same } from '../engine/policy/types.js';
import { ISSUE_CODES, VIAS } from '../engine/shell/ir.js';
import { OPTION_KINDS } from '../engine/shell/options.js';
import { SCHEMAS, generateTypes, loadSchemas, outdated, type LoadedSchema } from '../scripts/gen-validators.mjs';
import { ROOT, tempDir } from './helpers.js';

const GENERATED = join(ROOT, 'engine/policy/generated');
const GEN = join(ROOT, 'scripts/gen-validators.mjs');

/** A JSON Schema, edited in place by a test. */
type Json = Record<string, any>;

/** The shipped schemas with one of them changed by `edit`. */
function schemasWith(file: string, edit: (schema: Json) => void): LoadedSchema[] {
  return loadSchemas().map((s) => {
    if (s.file !== file) return s;
    const schema: Json = structuredClone(s.schema);
    edit(schema);
    return { ...s, schema };
  });
}

function check(dir: string): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [GEN, '--check', '--out', dir], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

describe('generated policy files', () => {
  it('validators.js, validators.d.ts and types.ts are what policies/schema gives', () => {
    expect(outdated(), 'run `npm run gen` after changing policies/schema').toEqual([]);
  });

  it('--check exits 0 on up-to-date files, and 1 naming a file that differs', () => {
    const dir = tempDir();
    cpSync(GENERATED, dir, { recursive: true });
    expect(check(dir).code).toBe(0);
    appendFileSync(join(dir, 'types.ts'), '// edited by hand\n');
    const stale = check(dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/types\.ts is not what policies\/schema gives: run `npm run gen`/);
  });

  it('validators.js exports exactly the validators its declaration names', () => {
    const declared = [
      ...readFileSync(join(GENERATED, 'validators.d.ts'), 'utf8').matchAll(/^export declare const (\w+)/gm),
    ];
    const names = SCHEMAS.map((s) => s.name).sort();
    expect(Object.keys(validators).sort()).toEqual(names);
    expect(declared.map((m) => m[1]).sort()).toEqual(names);
    expect(validators.tests({ cases: [{ cmd: 'ls' }] })).toBe(true);
    expect(validators.tests({ cases: [{ cmd: 'ls', level: 'severe' }] })).toBe(false);
    expect(validators.tests.errors?.[0]).toMatchObject({ instancePath: '/cases/0/level', keyword: 'enum' });
  });
});

describe('the schema says what the types said', () => {
  const rule = (match: unknown): unknown => ({
    rules: [{ id: 'test.rule', category: 'network', severity: 'high', description: 'a test rule', match }],
  });

  it('a redirect names its segment only at script level', () => {
    const redirect = { op: '>', segment: { program: 'yes' } };
    expect(validators.rules(rule({ redirect }))).toBe(true);
    expect(validators.rules(rule({ segment: { redirect } }))).toBe(false);
    expect(validators.rules.errors?.[0]?.instancePath).toBe('/rules/0/match/segment/redirect');
  });

  it('a rule has a severity or a score, not both', () => {
    const both = rule({ segment: { program: 'x' } }) as { rules: Record<string, unknown>[] };
    expect(validators.rules(both)).toBe(true);
    both.rules[0]!.score = 50;
    expect(validators.rules(both)).toBe(false);
  });
});

describe('the schema enums are the engine lists', () => {
  const [rules, tests] = ['rules', 'tests'].map((name) => loadSchemas().find((s) => s.name === name)!.schema) as {
    definitions: Record<string, { enum: unknown[] }>;
  }[];

  it('in the same order (the types are checked at compile time in engine/policy/types.ts)', () => {
    expect(rules!.definitions.level!.enum).toEqual([...LEVELS]);
    expect(tests!.definitions.level!.enum).toEqual([...LEVELS]);
    expect(rules!.definitions.category!.enum).toEqual([...CATEGORIES]);
    expect(rules!.definitions.issueCode!.enum).toEqual([...ISSUE_CODES]);
    expect(rules!.definitions.via!.enum).toEqual([...VIAS]);
    expect(rules!.definitions.optionKind!.enum).toEqual(Object.keys(OPTION_KINDS));
  });
});

// Compile-time checks (npm run typecheck): the agreement check tells unions apart, and the
// generated rule type takes a severity or a score, as the schema does.
// @ts-expect-error a value on one side only
type UnionsDiffer = Expect<Same<'a' | 'b', 'a'>>;
type UnionsAgree = Expect<Same<'a' | 'b', 'b' | 'a'>>;
const ruleFields = { id: 'test.rule', category: 'network', description: 'a test rule', match: {} } as const;
const withSeverity: RuleDefinition = { ...ruleFields, severity: 'high' };
const withScore: RuleDefinition = { ...ruleFields, score: 40 };
// @ts-expect-error not both
const withBoth: RuleDefinition = { ...ruleFields, severity: 'high', score: 40 };
// @ts-expect-error not neither
const withNeither: RuleDefinition = { ...ruleFields };

describe('the type generator', () => {
  it('turns a new schema option into a documented property of its type', () => {
    const types = generateTypes(
      schemasWith('rules.schema.json', (s) => {
        s.definitions.segmentPredicate.properties.new_option = {
          type: 'array',
          items: { $ref: '#/definitions/via' },
          description: 'an option added once, here',
        };
      }),
    );
    expect(types).toMatch(
      /export interface SegmentPredicate \{\n(?: {2}.*\n)* {2}\/\*\* an option added once, here \*\/\n {2}new_option\?: Via\[\];\n/,
    );
  });

  it('stops at a keyword it does not type, rather than type it wrongly', () => {
    const edited = schemasWith('gate.schema.json', (s) => {
      s.properties.damping.exclusiveMaximum = 1;
    });
    expect(() => generateTypes(edited)).toThrow(
      /gate\.schema\.json#\/properties\/damping: .* does not know "exclusiveMaximum"/,
    );
  });

  it('stops at an object that does not say additionalProperties', () => {
    const edited = schemasWith('reviewers.schema.json', (s) => {
      delete s.definitions.reviewerDefinition.additionalProperties;
    });
    expect(() => generateTypes(edited)).toThrow(/reviewerDefinition: an object must say additionalProperties/);
  });

  it('stops at a name defined differently in two schemas', () => {
    const edited = schemasWith('whitelist.schema.json', (s) => {
      s.definitions.examples.description = 'something else';
    });
    expect(() => generateTypes(edited)).toThrow(/Examples is defined differently in rules\.schema\.json and whitelist/);
  });
});
