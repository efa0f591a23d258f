/** Small pieces every view uses: badges, notices, who is signed in. */
import { byId, h } from './dom.js';
import { STATE_LABEL } from './format.js';
import type { CommandState, Level, Whoami } from './types.js';

let current: Whoami | null = null;

/** Who the token belongs to (set once signed in, refreshed after registering a passkey). */
export function me(): Whoami {
  if (!current) throw new Error('console: not signed in');
  return current;
}

export function setMe(who: Whoami | null): void {
  // a server without passkey support leaves the list out
  current = who && { ...who, passkeys: who.passkeys ?? [] };
}

export function riskBadge(level: Level, score?: number): HTMLElement {
  return h(
    'span',
    { class: `badge risk-${level}`, title: `risk ${level}${score === undefined ? '' : ` (${score}/100)`}` },
    score === undefined ? level : `${score} ${level}`,
  );
}

export function stateBadge(state: CommandState): HTMLElement {
  return h('span', { class: `badge state-${state}` }, STATE_LABEL[state]);
}

/** A notice at the foot of the page, read out by screen readers; it goes after a while. */
export function notify(message: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  const box = byId('notices');
  const note = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 12_000 : 6_000);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
