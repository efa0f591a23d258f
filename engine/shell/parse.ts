/**
 * Command text → Script IR: every segment bash would execute, nested ones included. The walker
 * is split by concern (walk-state.ts describes the chain): statements.ts (lists, pipelines,
 * compound commands), segments.ts (simple commands, wrappers), programs.ts (what programs run in
 * turn), assignments.ts, words.ts, evaluated.ts; the program grammars they consult are tables
 * in registry.ts read by grammars.ts.
 */
import type { Issue, Script } from './ir.js';
import { PARSE_LIMITS } from './limits.js';
import { Walker, type ParseOptions } from './statements.js';
import { findHiddenCharacters } from './text.js';

// the engine's API has always exported the limits from here
export { PARSE_LIMITS };
export type { ParseOptions };

/** Parse a command text into the Script IR. Never throws on any input string. */
export function parseScript(source: string, options: ParseOptions = {}): Script {
  try {
    return new Walker(source).run(options);
  } catch (err) {
    // every walk is iterative or bounded by PARSE_LIMITS; should one still run out of stack or
    // memory (a RangeError), the command is held as unreadable, and recorded, rather than the
    // gate failing on it with nothing recorded
    if (!(err instanceof RangeError)) throw err;
    const issue: Issue = {
      code: 'too-deep',
      message: `the command could not be read (${err.message})`,
      span: [0, source.length],
    };
    return {
      source,
      segments: [],
      flows: [],
      redirects: [],
      assignments: [],
      functions: [],
      issues: [issue],
      hidden: findHiddenCharacters(source),
    };
  }
}
