/**
 * Lazy, shared tree-sitter-bash parser. The native modules load on the first parse only, so
 * commands that never parse (help, audit listing) do not pay for them.
 */
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';

const require = createRequire(import.meta.url);

let parser: Parser | null = null;

export function bashParser(): Parser {
  if (parser) return parser;
  const ParserClass = require('tree-sitter') as typeof Parser;
  const bash = require('tree-sitter-bash') as Parser.Language;
  const p = new ParserClass();
  p.setLanguage(bash);
  parser = p;
  return p;
}
