/**
 * Standard input's bytes as the command they carry, decoded one way wherever it is read (the
 * in-process `check` and the thin client): invalid UTF-8 marked (replacement characters stand
 * in; such a command is never whitelisted), trailing newlines not part of it. Imports nothing:
 * the thin client's bin stub bundles it.
 */
export function commandText(bytes: Uint8Array): { text: string; invalidUtf8: boolean } {
  let text: string;
  let invalidUtf8 = false;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('utf-8').decode(bytes);
    invalidUtf8 = true;
  }
  return { text: text.replace(/(?:\r?\n)+$/, ''), invalidUtf8 };
}
