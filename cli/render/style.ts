/**
 * How the renderers emphasise text. A terminal gets ANSI colours, a pipe or NO_COLOR plain
 * text; another front end (a web console) can pass its own Style, e.g. one that wraps in spans.
 */
import type { Output } from '../io.js';
import { allowsRun, type CommandState } from '../../engine/model/verdict.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export function style(out: Output, env: Readonly<Record<string, string | undefined>>): Style {
  const on = Boolean(out.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33') };
}

/** `text` (by default the state's name) in the state's colour: green may run, yellow waits, red may not. */
export function paintState(s: Style, state: CommandState, text: string = state): string {
  return allowsRun(state) ? s.green(text) : state === 'pending' ? s.yellow(text) : s.red(text);
}
