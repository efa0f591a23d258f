/**
 * Lazy, shared tree-sitter-bash parser, and a walk over its trees. The native modules load on
 * the first parse only, so commands that never parse (help, audit listing) do not pay for them.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';
import type { SyntaxNode, Tree } from 'tree-sitter';
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

/** The `performance.now()` time at which the parse under way gives up. */
let parseDeadline = Infinity;
/**
 * Asked by tree-sitter every hundred or so steps: `true` stops the parse. One function for every
 * parse (the binding keeps a reference to each callback it is given, for good).
 */
const pastDeadline = (): boolean => performance.now() > parseDeadline;

/**
 * A text with at least this many `|` is parsed first in a child process that is killed at the
 * deadline. tree-sitter-bash reads a pipeline as ambiguous, and recovering from a syntax error
 * while a long one is open (`a|a|…|a (`) takes time quadratic in its length in one step that
 * never asks the progress callback: 16,000 pipes take 12 s, the size limit allows 32,000. Below
 * this many pipes that step stays well under a second (about 0.3 s for 2,000).
 */
const PIPE_PROBE_THRESHOLD = 2000;

const PROBE = `
const Parser = require(process.argv[1]);
const p = new Parser();
p.setLanguage(require(process.argv[2]));
p.parse(require('node:fs').readFileSync(0, 'utf8'));
process.stdout.write('parsed');
`;

/**
 * Whether tree-sitter reads `text` before `deadline`, tried in a child process that is killed
 * then: false when it did not finish in time, null when the child could not be run at all.
 */
function probeInTime(text: string, deadline: number): boolean | null {
  const timeout = Math.ceil(deadline - performance.now());
  if (timeout <= 0) return false;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(
    process.execPath,
    ['-e', PROBE, require.resolve('tree-sitter'), require.resolve('tree-sitter-bash')],
    {
      input: text,
      encoding: 'utf8',
      timeout,
      killSignal: 'SIGKILL',
      stdio: ['pipe', 'pipe', 'ignore'],
      env,
      windowsHide: true,
    },
  );
  if (r.stdout === 'parsed' && r.status === 0) return true;
  if (r.signal === 'SIGKILL' || performance.now() >= deadline) return false;
  return null;
}

/** Has `text` at least `atLeast` `|` characters? */
function hasPipes(text: string, atLeast: number): boolean {
  let n = 0;
  for (let i = text.indexOf('|'); i !== -1; i = text.indexOf('|', i + 1)) if (++n >= atLeast) return true;
  return false;
}

/**
 * Parses `text` with the shared parser, giving up at `deadline` (a `performance.now()` time):
 * null when it gave up, the parse being cut short (tree-sitter-bash takes time quadratic in the
 * length of some malformed input: `$[` repeated, `${` repeated, long broken pipelines).
 */
export function parseBash(text: string, deadline = Infinity): Tree | null {
  const p = bashParser();
  if (deadline === Infinity) return p.parse(text);
  if (performance.now() > deadline) return null;
  // what the progress callback cannot stop is tried where it can be stopped; a child that
  // could not run at all leaves it to the parse here, only slower
  if (hasPipes(text, PIPE_PROBE_THRESHOLD) && probeInTime(text, deadline) === false) return null;
  parseDeadline = deadline;
  let tree: Tree | null = null;
  try {
    tree = p.parse(text, null, { progressCallback: pastDeadline }) as Tree | null;
  } finally {
    parseDeadline = Infinity;
    // a parse cut short resumes where it stopped unless the parser is reset: the next text
    // would be read as the rest of this one
    if (!tree) p.reset();
  }
  return tree;
}

/**
 * Visits `roots` and the nodes under them depth first, in document order, without recursion: a
 * tree is as deep as its text nests, thousands of levels within the size limit. `visit` handles a
 * node and returns the nodes to visit under it (none to stop there). Nodes more than
 * PARSE_LIMITS.maxSyntaxDepth levels below a root are not visited: returns the first node whose
 * children were left out (the caller reports `too-deep`), or null when the walk was complete.
 */
export function walkTree(
  roots: readonly SyntaxNode[],
  visit: (node: SyntaxNode) => readonly SyntaxNode[],
): SyntaxNode | null {
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

/** Nodes that are one simple command to bash: never across an unquoted newline. */
const ONE_LINE = new Set([
  'command',
  'redirected_statement',
  'variable_assignments',
  'declaration_command',
  'unset_command',
  'negated_command',
]);

/**
 * Where tree-sitter read two lines as one command (`x=1 y=2⏎{ rm …; }` as a command named `{`,
 * `ls⏎\rm x` as `ls` with an argument `⏎rm`): the place to insert `;` (or, before a word that
 * starts a line, a blank) so that it reads them as bash does. Null when there is none.
 */
export function findGlue(root: SyntaxNode, text: string): { index: number; chars: string } | null {
  // a cursor, not node.children: marshalling every node's children made a 60 KB command take
  // seconds. Nodes are visited as a stack would (each node, then its children last first).
  const cursor = root.walk();
  for (;;) {
    const type = cursor.nodeType;
    if (type !== 'heredoc_body') {
      if (ONE_LINE.has(type)) {
        const glue = glueInside(cursor, type, text);
        if (glue) return glue;
      }
      if (type === 'word') {
        const word = text.slice(cursor.startIndex, cursor.endIndex);
        if (word.includes('\n')) {
          const lead = /^\n+/.exec(word);
          return lead
            ? { index: cursor.startIndex + lead[0].length, chars: ' ' }
            : { index: cursor.startIndex + word.indexOf('\n'), chars: ';' };
        }
      }
      if (cursor.gotoLastChild()) continue;
    }
    for (;;) {
      if (cursor.gotoPreviousSibling()) break;
      if (!cursor.gotoParent()) return null;
    }
  }
}

/** The glue inside one statement node (the cursor is on it, and is left there). */
function glueInside(
  cursor: ReturnType<SyntaxNode['walk']>,
  type: string,
  text: string,
): { index: number; chars: string } | null {
  const children: { type: string; named: boolean; start: number; end: number }[] = [];
  if (cursor.gotoFirstChild()) {
    do
      children.push({
        type: cursor.nodeType,
        named: cursor.nodeIsNamed,
        start: cursor.startIndex,
        end: cursor.endIndex,
      });
    while (cursor.gotoNextSibling());
    cursor.gotoParent();
  }
  let gap = -1;
  for (let k = 1; k < children.length && gap === -1; k++) {
    const prev = children[k - 1]!;
    const next = children[k]!;
    if (next.type === 'heredoc_redirect' || prev.type === 'heredoc_redirect') continue;
    if (text.slice(prev.end, next.start).includes('\n')) gap = k;
  }
  // `a == b` outside [[ ]]: tree-sitter reads `==` as a test operator and what follows as a
  // regex running across `;` and newlines; to bash it is just the word `==` (escaping it
  // says so). Before a line break, else the `;` put there leaves `==` an ERROR.
  const op =
    type === 'command'
      ? children.findIndex((c) => !c.named && (c.type === '==' || c.type === '=~' || c.type === '!='))
      : -1;
  if (op !== -1 && (gap === -1 || op < gap)) return { index: children[op]!.start, chars: '\\' };
  if (gap !== -1) {
    const prev = children[gap - 1]!;
    return { index: prev.type === 'comment' ? prev.start : prev.end, chars: ';' };
  }
  return null;
}
