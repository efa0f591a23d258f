/** Text and time in the shapes every view shares: command lines cut to fit, clocks, durations. */
import { escapeForDisplay } from '../../engine/index.js';

/** `s` cut to `max` characters, the last one an ellipsis when it was longer. */
export function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Command text on one line: hidden characters escaped, newlines shown as ⏎, cut to `max`. */
export function oneLine(command: string, max = Infinity): string {
  return clip(escapeForDisplay(command).replace(/\n/g, '⏎'), max);
}

/** "14:03:07" of an ISO 8601 time. */
export function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** "14:03:07.123" of an ISO 8601 time, or a placeholder for none. */
export function clockMs(iso: string | null | undefined): string {
  return iso ? iso.slice(11, 23) : '--:--:--';
}

/** "2026-01-07 14:03:07Z": an ISO 8601 time to the second, easier to scan in a list. */
export function dateTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** "850 ms", "1.5 s", "12 s". */
export function duration(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

/** "1m05s", "12s", "expired" — how long a pending command still waits. */
export function timeLeft(ms: number | null): string {
  if (ms === null) return '-';
  if (ms <= 0) return 'expired';
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
