/**
 * The regression file: commands that once diverged, run before the generated ones.
 *
 * Format: each entry starts with a line `=== ` (optionally `guaranteed=0,12` and a free note);
 * the lines after it, up to the next `===` line, are the command, exactly (a command may span
 * lines and end with a newline of its own: only the one newline before the next `===` is not part
 * of it). Lines before the first `===` are comments. Generated commands never contain a line
 * starting with `===`.
 */
import { readFileSync } from 'node:fs';

export interface Regression {
  readonly source: string;
  readonly guaranteed: readonly number[];
  readonly note: string;
  /** 1-based line of the `===` header, for messages. */
  readonly line: number;
}

const HEADER = /^===(?: (.*))?$/;

export function parseRegressions(text: string): Regression[] {
  // the file's last newline ends the last entry's last line, like the newline before a header
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const out: Regression[] = [];
  let header: string | null = null;
  let headerLine = 0;
  let body: string[] = [];
  const flush = (): void => {
    if (header === null) return;
    const m = /(?:^|\s)guaranteed=([\d,]*)/.exec(header);
    const guaranteed = m?.[1] ? m[1].split(',').filter(Boolean).map(Number) : [];
    const note = header
      .replace(/(?:^|\s)guaranteed=[\d,]*/, '')
      .replace(/^\s*\|?\s*/, '')
      .trim();
    out.push({ source: body.join('\n'), guaranteed, note, line: headerLine });
  };
  for (let i = 0; i < lines.length; i++) {
    const h = HEADER.exec(lines[i]!);
    if (h) {
      flush();
      header = h[1] ?? '';
      headerLine = i + 1;
      body = [];
    } else if (header !== null) {
      body.push(lines[i]!);
    }
  }
  flush();
  return out;
}

export function formatRegression(source: string, guaranteed: readonly number[], note = ''): string {
  const header = [
    '===',
    guaranteed.length > 0 ? `guaranteed=${guaranteed.join(',')}` : '',
    note ? `| ${note.replace(/\n/g, ' ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${header}\n${source}\n`;
}

export function readRegressions(path: string): Regression[] {
  return parseRegressions(readFileSync(path, 'utf8'));
}
