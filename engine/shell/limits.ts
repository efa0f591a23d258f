/**
 * How much of a command the shell layer reads. Past a limit the rest is not read and the
 * command gets a `too-large` or `too-deep` issue: it is then held, never approved automatically.
 * Its own module so that every reader of syntax (the walker, word decoding, brace expansion)
 * honours the same bounds.
 */
export const PARSE_LIMITS = Object.freeze({
  /** Larger input is not parsed at all. */
  maxBytes: 64 * 1024,
  /** Payloads inside payloads (bash -c "bash -c '…'"). */
  maxPayloadDepth: 8,
  /**
   * Syntactic nesting: statements inside statements and substitutions, and the nodes of one
   * expression or word inside each other (`((…))`, `[[ ( … ) ]]`, `${a:-${a:-…}}`, `{a,{b,…}}`).
   * A text within maxBytes may nest thousands of levels deep, and the walkers that recurse do so
   * once per level: this bound keeps them far inside the JavaScript stack. No command written
   * for work comes near it.
   */
  maxSyntaxDepth: 200,
  maxSegments: 4096,
  /** Data flows between segments (`{ a;…; } | { b;…; }` has one from each to each). */
  maxFlows: 16384,
  /** Wrappers around one command (sudo env nice timeout …). */
  maxWrappers: 16,
});
