/**
 * What a person waiting for a reviewer sees (`check`, `exec`, `wait`, `shell`): as soon as the
 * command is held, its id, risk, why it is held and where to review it, then a countdown to the
 * end of the wait, redrawn in place. Only when stderr is a terminal, never with --quiet, and
 * never on stdout (it carries the result). The countdown's timer does not keep the process
 * alive, and `stop` clears its line before the result is printed.
 */
import type { CommandRecord, OnHeld } from '../engine/index.js';
import type { CliIo } from './io.js';
import { countdownLine, renderHeld } from './render/record.js';
import { style } from './render/style.js';

export interface WaitNotice {
  /** For the check request or `Gate.resume`: undefined when nothing is to be shown. */
  readonly onHeld: OnHeld | undefined;
  /** Write a message on stderr; during the countdown, above its line. */
  say(text: string): void;
  /** Stop the countdown and clear its line (safe to call at any time, more than once). */
  stop(): void;
}

/** How often the countdown looks at the time; the line is redrawn only when its text changes. */
const TICK_MS = 200;

export function waitNotice(io: CliIo, options: { quiet: boolean }): WaitNotice {
  if (options.quiet || !io.stderr.isTTY)
    return { onHeld: undefined, say: (text) => io.stderr.write(text), stop: () => {} };
  const s = style(io.stderr, io.env);
  // a dumb terminal has no clear-line sequence: overwrite with spaces instead
  const dumb = io.env.TERM === 'dumb';
  let timer: ReturnType<typeof setInterval> | null = null;
  let shown = '';
  const erase = (): string => (dumb ? `\r${' '.repeat(shown.length)}\r` : '\r\x1b[2K');
  const draw = (line: string): void => {
    if (line === shown) return;
    io.stderr.write(shown ? `${erase()}${line}` : line);
    shown = line;
  };
  const stopTimer = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  return {
    onHeld(record: CommandRecord, waitMs: number): void {
      stopTimer();
      const end = performance.now() + waitMs;
      io.stderr.write(renderHeld(s, record));
      const tick = (): void => {
        const left = end - performance.now();
        draw(countdownLine(s, left));
        if (left <= 0) stopTimer();
      };
      tick();
      timer = setInterval(tick, TICK_MS);
      // a countdown is no reason to stay alive: the wait itself holds the process
      timer.unref();
    },
    say(text: string): void {
      if (!shown) return io.stderr.write(text);
      io.stderr.write(`${erase()}${text}${shown}`);
    },
    stop(): void {
      stopTimer();
      if (shown) io.stderr.write(erase());
      shown = '';
    },
  };
}
