/**
 * Characters that can hide text from a human reviewer (terminal control sequences, bidi
 * overrides, zero-width characters), and how to show a command safely.
 */
import type { HiddenCharacter } from './ir.js';

function classify(cp: number): HiddenCharacter['kind'] | null {
  if (cp === 0x09 || cp === 0x0a) return null; // tab and newline are ordinary shell syntax
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f)) return 'control';
  if (
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x061c
  ) {
    return 'bidi';
  }
  if (cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0x2060 || cp === 0xfeff || cp === 0x180e) {
    return 'zero-width';
  }
  if (
    cp === 0x00ad ||
    cp === 0x034f ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xe0000 && cp <= 0xe007f) ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x3164 ||
    cp === 0xffa0
  ) {
    return 'other-invisible';
  }
  return null;
}

// eslint-disable-next-line no-control-regex
const SUSPECT = new RegExp(
  String.raw`[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f` +
    String.raw`\u202a-\u202e\u2060\u2066-\u2069\u3164\ufe00-\ufe0f\ufeff\uffa0]|` +
    String.raw`\udb40[\udc00-\udc7f]`,
);

export function findHiddenCharacters(text: string): HiddenCharacter[] {
  if (!SUSPECT.test(text)) return [];
  const found: HiddenCharacter[] = [];
  let index = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const kind = classify(cp);
    if (kind) found.push({ index, codePoint: cp, kind });
    index += ch.length;
  }
  return found;
}

/**
 * The text with every hidden or control character written as a visible escape (`\x1b`,
 * `\u202e`), so what a reviewer reads is what bash receives. Newlines and tabs stay.
 */
export function escapeForDisplay(text: string): string {
  if (!SUSPECT.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (classify(cp) === null) {
      out += ch;
    } else if (cp <= 0xff) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp <= 0xffff) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\u{${cp.toString(16)}}`;
    }
  }
  return out;
}

/** UTF-16 offset → UTF-8 byte offset, for spans reported to other tools. */
export function byteOffsets(text: string): (utf16: number) => number {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(text)) return (i) => i;
  const table = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    table[i] = bytes;
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // a surrogate pair is 4 bytes, counted on the high half
      bytes += 4;
      table[i + 1] = bytes;
      i++;
      continue;
    } else bytes += 3;
  }
  table[text.length] = bytes;
  return (i) => table[Math.max(0, Math.min(i, text.length))]!;
}

/** Does a relative path climb above where it starts (`../x`, `a/../../x`)? */
export function climbsAbove(path: string): boolean {
  let depth = 0;
  for (const part of path.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/** The last component of a path (the program a command path names). */
export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? path : path.slice(i + 1);
}
