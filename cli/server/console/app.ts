/**
 * The review console of `policy-gate serve`: sign-in, the three views (queue, audit, passkeys),
 * the live event stream and the keyboard. Everything on screen comes from the API.
 */
import { ApiError, events, get, loadToken, saveToken } from './api.js';
import { AuditView } from './audit.js';
import { byId, typing } from './dom.js';
import { PasskeysView } from './passkeys.js';
import { QueueView } from './queue.js';
import type { Whoami } from './types.js';
import { errorText, me, notify, setMe } from './ui.js';
import './app.css';

interface View {
  unmount(): void;
  key?(e: KeyboardEvent): boolean;
}

const main = byId('main');
const queue = new QueueView((n) => {
  byId('pending-count').textContent = n ? String(n) : '';
});
let shown: View | null = null;
let stream: AbortController | null = null;

function route(): void {
  const [, view = '', arg] = location.hash.split('/').map(decodeURIComponent);
  const who = me();
  const name = view || (who.role === 'auditor' ? 'audit' : 'queue');
  shown?.unmount();
  for (const id of ['queue', 'audit', 'passkeys'])
    byId(`nav-${id}`).classList.toggle('current', id === (name === 'session' ? 'audit' : name));
  if (name === 'audit' || name === 'session') {
    const audit = new AuditView();
    audit.mount(main, name === 'session' ? { session: arg } : { command: arg });
    shown = audit;
  } else if (name === 'passkeys') {
    const passkeys = new PasskeysView();
    passkeys.mount(main);
    shown = passkeys;
  } else {
    queue.mount(main, arg ?? null);
    shown = queue;
  }
}

/** The live stream: the queue follows every submission and decision; reconnects when it drops. */
async function live(): Promise<void> {
  const badge = byId('live');
  let refresh: number | undefined;
  for (;;) {
    stream = new AbortController();
    try {
      badge.textContent = 'connecting…';
      const it = events('/v1/events', stream.signal);
      badge.className = 'live on';
      badge.textContent = 'live';
      void queue.refresh();
      for await (const _event of it) {
        window.clearTimeout(refresh);
        refresh = window.setTimeout(() => void queue.refresh(), 100);
      }
    } catch (err) {
      if (stream.signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        badge.className = 'live off';
        badge.textContent = 'not live';
        return;
      }
    }
    badge.className = 'live off';
    badge.textContent = 'offline, retrying';
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function onKey(e: KeyboardEvent): void {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const help = byId<HTMLDialogElement>('help');
  if (e.key === 'Escape' && typing(e.target)) {
    (e.target as HTMLElement).blur();
    return;
  }
  if (typing(e.target) || help.open || !byId('login').hidden) return;
  const go: Record<string, string> = { q: '#/queue', t: '#/audit', p: '#/passkeys' };
  if (e.key === '?') help.showModal();
  else if (go[e.key]) location.hash = go[e.key]!;
  else if (!shown?.key?.(e)) return;
  e.preventDefault();
}

function showLogin(message: string): void {
  byId('login').hidden = false;
  byId('login-error').textContent = message;
  byId('token-input').focus();
}

async function signIn(): Promise<void> {
  if (!loadToken()) return showLogin('');
  let who: Whoami;
  try {
    who = await get<Whoami>('/v1/whoami');
  } catch (err) {
    saveToken(null);
    return showLogin(err instanceof ApiError && err.status === 401 ? 'That token is not valid.' : errorText(err));
  }
  setMe(who);
  byId('login').hidden = true;
  byId('who').textContent = `${who.reviewer?.name ?? who.identity} · ${who.role}`;
  byId('nav-queue').hidden = who.role === 'auditor';
  document.body.dataset.ready = 'true';
  route();
  if (who.role !== 'agent') void live();
}

byId('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  saveToken(byId<HTMLInputElement>('token-input').value.trim());
  void signIn();
});
byId('sign-out').addEventListener('click', () => {
  stream?.abort();
  saveToken(null);
  setMe(null);
  location.hash = '';
  location.reload();
});
byId('help-button').addEventListener('click', () => byId<HTMLDialogElement>('help').showModal());
window.addEventListener('hashchange', () => {
  if (document.body.dataset.ready) route();
});
document.addEventListener('keydown', onKey);
window.addEventListener('unhandledrejection', (e) => notify(errorText(e.reason), 'error'));
void signIn();
