/** Adding rules to a whitelist file, keeping what is there (comments included). */
import { createRequire } from 'node:module';
import type { WhitelistRuleDefinition } from '../policy/types.js';
import { parseYaml } from '../util/yaml.js';

const require = createRequire(import.meta.url);

const HEADER = '# yaml-language-server: $schema=../schema/whitelist.schema.json\n';

/**
 * The file's text with the rules appended to its `whitelist:` list (a new file when null).
 * An existing text that is not a policy file within the YAML limits is a GateError naming `file`.
 */
export function appendRules(
  existing: string | null,
  rules: readonly WhitelistRuleDefinition[],
  file = 'the whitelist file',
): string {
  if (existing === null || existing.trim() === '') {
    const { Document } = require('yaml') as typeof import('yaml');
    return `${HEADER}${new Document({ whitelist: rules }).toString({ lineWidth: 0 })}`;
  }
  const { doc } = parseYaml(existing, file);
  if (!doc.get('whitelist')) doc.set('whitelist', []);
  for (const r of rules) doc.addIn(['whitelist'], r);
  return doc.toString({ lineWidth: 0 });
}
