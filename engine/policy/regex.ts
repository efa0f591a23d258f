/**
 * Regular expressions in policies run on text an attacker writes (words up to 64 KiB), so they
 * run on a linear-time engine: RE2 (re2js, a port of Google's RE2). A rule's regex can never
 * backtrack catastrophically, however it is written; what RE2 cannot run in linear time
 * (backreferences, lookaround) is refused when the policy loads and by `policy lint`.
 * Syntax: RE2's (https://github.com/google/re2/wiki/Syntax); `(?i)` makes it case-insensitive.
 */
import { RE2JS } from 're2js';

export interface Tester {
  test(text: string): boolean;
}

export class RegexError extends Error {}

/** Compile a policy regex (searched anywhere in the text unless anchored). */
export function compileRegex(source: string): Tester {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    throw new RegexError((err as Error).message.replace(/^error parsing regexp: /, ''));
  }
  return { test: (text) => re.test(text) };
}

/** Compile a regex that must match the whole text (whitelist `<re:…>` placeholders). */
export function compileFullRegex(source: string): Tester {
  return compileRegex(`^(?:${source})$`);
}
