/** Times, durations and command text as the console shows them. */
import type { CommandState, Level } from './types.js';

const pad = (n: number): string => String(n).padStart(2, '0');

/** 2026-01-07 12:00:03 in the browser's zone. */
export function dateTime(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(iso)}`;
}

export function clock(iso: string): string {
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A wait or a latency: 850 ms, 12.4 s, 3m 05s, 2h 10m. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

export function timeLeft(ms: number | null): string {
  if (ms === null) return 'no deadline';
  return ms <= 0 ? 'time is up' : `${duration(ms)} left`;
}

export const STATE_LABEL: Readonly<Record<CommandState, string>> = {
  whitelisted: 'whitelisted',
  approved: 'approved',
  pending: 'pending',
  denied: 'denied',
  timed_out: 'timed out',
};

/** The colour class of a risk score (a hit's own score, shown like a level). */
export function scoreLevel(score: number): Level {
  return score >= 80 ? 'critical' : score >= 60 ? 'high' : score >= 30 ? 'medium' : 'low';
}

// C0/C1 controls (but newline and tab), bidirectional overrides, zero-width and other invisible characters
const HIDDEN =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/u;

/** The text cut where characters hide: [text, hidden?] runs, so hidden ones can be shown as escapes. */
export function visibleRuns(text: string): [string, boolean][] {
  const runs: [string, boolean][] = [];
  let plain = '';
  for (const ch of text) {
    if (HIDDEN.test(ch)) {
      if (plain) runs.push([plain, false]);
      plain = '';
      runs.push([`\\u{${ch.codePointAt(0)!.toString(16)}}`, true]);
    } else plain += ch;
  }
  if (plain) runs.push([plain, false]);
  return runs;
}

/** The command on one line, cut to `max` characters. */
export function oneLine(text: string, max = 120): string {
  const flat = visibleRuns(text.replace(/\n/g, ' ⏎ '))
    .map(([t]) => t)
    .join('');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** UTF-8 byte offsets (the record's spans) → string indices, for every offset of `text`. */
export function byteToIndex(text: string): (byte: number) => number {
  const at: number[] = [];
  let index = 0;
  const encoder = new TextEncoder();
  for (const ch of text) {
    const bytes = encoder.encode(ch).length;
    for (let i = 0; i < bytes; i++) at.push(index);
    index += ch.length;
  }
  at.push(index);
  return (byte) => at[Math.max(0, Math.min(byte, at.length - 1))]!;
}
