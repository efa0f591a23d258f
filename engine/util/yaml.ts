/**
 * The one way the gate reads YAML. Policy files reach it from pull requests, from Git revisions
 * nobody has validated yet and from whoever can write the policy directory, so every read and
 * parse is bounded, and whatever goes wrong is a policy error (exit 2) naming the file, never an
 * internal error (exit 70):
 *
 * - size: at most MAX_YAML_BYTES per file, enforced while reading, so an oversized file is never
 *   read whole, hashed or parsed (the shipped files are all under 32 KiB);
 * - aliases: none. An alias is how a small file expands into a huge value (the "billion laughs"),
 *   and a policy never needs one: rules share values through named sets, and a rule's review and
 *   provenance (Git blame on its own lines) assume its lines say everything it means, which an
 *   alias to an anchor elsewhere in the file would break;
 * - duplicate keys are refused in one linear pass: the `yaml` package's own `uniqueKeys` check
 *   compares every key of a mapping with every other, which takes minutes on a 1 MiB mapping.
 *
 * The `yaml` package is loaded on first use: a warm `check` reads the compiled cache instead.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { GateError, describeCause } from './errors.js';

/** The largest policy file the gate reads: 1 MiB (about 30 times the largest shipped file). */
export const MAX_YAML_BYTES = 1024 * 1024;

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | null = null;
const yaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule);

export interface ParsedYaml {
  /** The document, for its nodes' positions (`getIn(path, true).range`) or for editing. */
  readonly doc: Document;
  /** Its value as plain data (mappings are objects). */
  readonly data: unknown;
  /** The 1-based line of a character offset in the text. */
  lineAt(offset: number): number;
}

function yamlError(file: string, message: string, line?: number): GateError {
  return new GateError('policy-invalid', `YAML: ${message}`, {
    location: line === undefined ? { file } : { file, line },
  });
}

function tooLarge(file: string): GateError {
  return yamlError(file, `the file is larger than ${MAX_YAML_BYTES / 1024 / 1024} MiB, the limit for a policy file`);
}

/**
 * A policy file's text, read no further than the size limit (a bigger file, a device or a pipe
 * that never ends is refused without being read whole). `file` names it in errors.
 */
export function readYamlFile(path: string, file: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new GateError('policy-invalid', `cannot read policy file: ${describeCause(err)}`, { location: { file } });
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_YAML_BYTES) throw tooLarge(file);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    if (err instanceof GateError) throw err;
    throw new GateError('policy-invalid', `cannot read policy file: ${describeCause(err)}`, { location: { file } });
  } finally {
    closeSync(fd);
  }
}

/**
 * Parse one YAML document within the limits above; any problem is a GateError `policy-invalid`
 * located at `file` (and the line, when known). Callers that tolerate a bad file (old Git
 * revisions) catch it.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  // the text of a file read from disk is already bounded; one from Git or a caller is not
  if (Buffer.byteLength(text, 'utf8') > MAX_YAML_BYTES) throw tooLarge(file);
  const { parseDocument, LineCounter, visit, isScalar } = yaml();
  const lineCounter: LineCounter = new LineCounter();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: false });
  } catch (err) {
    throw yamlError(file, describeCause(err).split('\n')[0]!);
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw yamlError(file, e.message.split('\n')[0]!, e.linePos?.[0]?.line);
  }
  // set inside the visitor, hence the widened type (TypeScript cannot see the assignments)
  let refusal = null as GateError | null;
  visit(doc, {
    Alias(_key, node) {
      refusal = yamlError(
        file,
        `alias *${node.source}: aliases are not allowed in policy files (write the value out)`,
        node.range ? lineAt(node.range[0]) : undefined,
      );
      return visit.BREAK;
    },
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        // the same comparison as the yaml package's uniqueKeys (equal scalar values), in linear time
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          refusal = yamlError(
            file,
            `map keys must be unique: ${JSON.stringify(pair.key.value)} is repeated`,
            pair.key.range ? lineAt(pair.key.range[0]) : undefined,
          );
          return visit.BREAK;
        }
        seen.add(pair.key.value);
      }
      return undefined;
    },
  });
  if (refusal) throw refusal;
  let data: unknown;
  try {
    // maxAliasCount 0: no alias is resolved, should one ever get past the walk above
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw yamlError(file, describeCause(err).split('\n')[0]!);
  }
  return { doc, data, lineAt };
}
