/** Adding rules to a whitelist file, keeping what is there (comments included). */
import { createRequire } from 'node:module';
import type { WhitelistRuleDefinition } from '../policy/types.js';

const require = createRequire(import.meta.url);

interface YamlDocument {
  errors: unknown[];
  get(key: string, keepScalar?: boolean): unknown;
  set(key: string, value: unknown): void;
  addIn(path: string[], value: unknown): void;
  toString(options?: { lineWidth?: number }): string;
}
interface Yaml {
  parseDocument(text: string): YamlDocument;
  Document: new (value: unknown) => YamlDocument;
}

const HEADER = '# yaml-language-server: $schema=../schema/whitelist.schema.json\n';

/** The file's text with the rules appended to its `whitelist:` list (a new file when null). */
export function appendRules(existing: string | null, rules: readonly WhitelistRuleDefinition[]): string {
  const yaml = require('yaml') as Yaml;
  if (existing === null || existing.trim() === '') {
    return `${HEADER}${new yaml.Document({ whitelist: rules }).toString({ lineWidth: 0 })}`;
  }
  const doc = yaml.parseDocument(existing);
  if (doc.errors.length > 0) throw new Error('the whitelist file is not valid YAML');
  if (!doc.get('whitelist')) doc.set('whitelist', []);
  for (const r of rules) doc.addIn(['whitelist'], r);
  return doc.toString({ lineWidth: 0 });
}
