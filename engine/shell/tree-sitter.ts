/**
 * Lazy, shared tree-sitter-bash parser, and a walk over its trees. The native modules load on
 * the first parse only, so commands that never parse (help, audit listing) do not pay for them.
 */
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';
import type { SyntaxNode } from 'tree-sitter';
import { PARSE_LIMITS } from './limits.js';

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

/**
 * Visits `roots` and the nodes under them depth first, in document order, without recursion: a
 * tree is as deep as its text nests, thousands of levels within the size limit. `visit` handles a
 * node and returns the nodes to visit under it (none to stop there). Nodes more than
 * PARSE_LIMITS.maxSyntaxDepth levels below a root are not visited: returns the first node whose
 * children were left out (the caller reports `too-deep`), or null when the walk was complete.
 */
export function walkTree(roots: readonly SyntaxNode[], visit: (node: SyntaxNode) => readonly SyntaxNode[]): SyntaxNode | null {
  let cut: SyntaxNode | null = null;
  // last in, first out: children go on in reverse so that the first is visited first
  const stack: { node: SyntaxNode; depth: number }[] = [];
  for (let k = roots.length - 1; k >= 0; k--) stack.push({ node: roots[k]!, depth: 0 });
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const children = visit(top.node);
    if (children.length === 0) continue;
    if (top.depth >= PARSE_LIMITS.maxSyntaxDepth) {
      cut ??= top.node;
      continue;
    }
    for (let k = children.length - 1; k >= 0; k--) stack.push({ node: children[k]!, depth: top.depth + 1 });
  }
  return cut;
}
