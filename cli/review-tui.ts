/**
 * The interactive review queue: a full-screen terminal view of the pending commands, highest
 * risk first, refreshed twice a second (new commands appear, decided ones leave, the time left
 * counts down), with the selected command shown in full. Decisions are signed like
 * `review approve|deny`.
 */
import { pendingQueue, requireStore, usageError, ExitCode } from '../engine/index.js';
import { bool, type Parsed } from './args.js';
import { locations, recordGateEvent } from './context.js';
import type { CliIo } from './io.js';
import { reviewView, signAndApply, type ReviewView } from '../engine/index.js';
import { openForReview, signer } from './review-common.js';
import { describeOutcome, queueLine, renderReview } from './render/record.js';
import { style, type Style } from './render/style.js';

interface TtyIn extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

interface State {
  views: ReviewView[];
  selected: string | null;
  mode: { kind: 'browse' } | { kind: 'reason'; action: 'approve' | 'deny'; text: string };
  message: string;
}

const KEYS_HELP = '↑/↓ or j/k move · a approve · d deny · r refresh · q quit';

/** The screen for a state (pure: tested without a terminal). */
export function renderScreen(s: Style, state: State, reviewer: string, cols: number, rows: number): string {
  const lines: string[] = [];
  lines.push(`${s.bold('policy-gate review')} — ${reviewer} — ${state.views.length} pending — ${s.dim(KEYS_HELP)}`);
  if (state.views.length === 0)
    lines.push('', s.dim('  nothing waits for review; new commands appear here as agents submit them'));
  const index = Math.max(
    0,
    state.views.findIndex((v) => v.record.command_id === state.selected),
  );
  const listRows = Math.min(state.views.length, 8);
  const first = Math.min(Math.max(0, index - listRows + 1), Math.max(0, state.views.length - listRows));
  for (let i = first; i < first + listRows; i++) {
    const v = state.views[i]!;
    const line = queueLine(s, v, cols - 3);
    lines.push(i === index ? `${s.bold('>')} ${line}` : `  ${line}`);
  }
  if (state.views.length > listRows) lines.push(s.dim(`  … ${state.views.length} in all`));
  const current = state.views[index];
  if (current) {
    lines.push(s.dim('─'.repeat(Math.min(cols, 100))));
    lines.push(...renderReview(s, current).trimEnd().split('\n'));
  }
  const footer: string[] = [];
  if (state.mode.kind === 'reason') {
    const approve = state.mode.action === 'approve';
    footer.push(
      `${approve ? s.green('approve') : s.red('deny')} — reason${approve ? ' (optional)' : ''}: ${state.mode.text}█`,
    );
    footer.push(s.dim('enter to sign and submit · esc to cancel'));
  } else if (state.message) {
    footer.push(state.message);
  }
  const room = Math.max(1, rows - footer.length - 1);
  const shown =
    lines.length > room ? [...lines.slice(0, room - 1), s.dim('  … (enlarge the terminal for more)')] : lines;
  return [...shown, '', ...footer].map((l) => l.slice(0, cols * 4)).join('\r\n');
}

/** Apply one keypress; returns what to do next. */
export function onKey(
  state: State,
  key: string,
): 'quit' | 'refresh' | { submit: 'approve' | 'deny'; reason: string | null } | null {
  if (state.mode.kind === 'reason') {
    const mode = state.mode;
    if (key === '\x1b') {
      state.mode = { kind: 'browse' };
      state.message = 'cancelled';
    } else if (key === '\r' || key === '\n') {
      const reason = mode.text.trim();
      if (mode.action === 'deny' && reason === '') {
        state.message = 'a deny needs a reason';
        return null;
      }
      state.mode = { kind: 'browse' };
      return { submit: mode.action, reason: reason === '' ? null : reason };
    } else if (key === '\x7f' || key === '\b') {
      mode.text = mode.text.slice(0, -1);
    } else if (key === '\x03') {
      return 'quit';
    } else if (!/[\x00-\x1f]/.test(key)) {
      mode.text += key;
    }
    return null;
  }
  const index = state.views.findIndex((v) => v.record.command_id === state.selected);
  const move = (d: number): void => {
    if (state.views.length === 0) return;
    const next = Math.min(state.views.length - 1, Math.max(0, (index === -1 ? 0 : index) + d));
    state.selected = state.views[next]!.record.command_id;
  };
  switch (key) {
    case 'q':
    case '\x03':
    case '\x04':
      return 'quit';
    case 'j':
    case '\x1b[B':
      move(1);
      return null;
    case 'k':
    case '\x1b[A':
      move(-1);
      return null;
    case 'r':
      return 'refresh';
    case 'a':
    case 'd':
      if (state.views.length === 0) {
        state.message = 'nothing to decide';
        return null;
      }
      state.mode = { kind: 'reason', action: key === 'a' ? 'approve' : 'deny', text: '' };
      state.message = '';
      return null;
    default:
      return null;
  }
}

/** Split a chunk of terminal input into keys (escape sequences kept whole, text by character). */
export function keys(chunk: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < chunk.length;) {
    if (chunk[i] === '\x1b' && chunk[i + 1] === '[' && i + 2 < chunk.length) {
      out.push(chunk.slice(i, i + 3));
      i += 3;
    } else {
      const cp = chunk.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(ch);
      i += ch.length;
    }
  }
  return out;
}

export async function runQueue(p: Parsed, io: CliIo): Promise<number> {
  // no store, no queue: say where it was looked for, whatever the terminal
  requireStore(locations(p, io));
  const input = io.stdin as unknown as TtyIn;
  if (!io.stdinIsTTY || !io.stdout.isTTY || typeof input.setRawMode !== 'function') {
    throw usageError(
      'the interactive queue needs a terminal',
      'use policy-gate review list | show ID | approve ID | deny ID instead',
    );
  }
  if (bool(p, 'json')) throw usageError('--json is for review list | show | approve | deny');
  const who = signer(p, io);
  const { policy, store } = await openForReview(p, io);
  await recordGateEvent(store, 'GATE_START', `review-queue:${who.reviewer}`);
  const s = style(io.stdout, io.env);
  const out = process.stdout;
  const state: State = {
    views: [],
    selected: null,
    mode: { kind: 'browse' },
    message: who.key ? '' : 'no --key: decisions would go in unsigned and be refused',
  };

  const refresh = async (): Promise<void> => {
    const now = new Date();
    const queue = await pendingQueue(store, now);
    state.views = await Promise.all(queue.map((r) => reviewView(store, policy, r, now)));
    if (!state.views.some((v) => v.record.command_id === state.selected))
      state.selected = state.views[0]?.record.command_id ?? null;
  };
  const draw = (): void => {
    io.stdout.write(`\x1b[H\x1b[2J${renderScreen(s, state, who.reviewer, out.columns || 100, out.rows || 30)}`);
  };

  io.stdout.write('\x1b[?1049h\x1b[?25l');
  input.setRawMode!(true);
  input.resume();
  return await new Promise<number>((resolve) => {
    let finished = false;
    const finish = async (code: number): Promise<void> => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      input.off('data', onData);
      input.setRawMode!(false);
      input.pause();
      try {
        await recordGateEvent(store, 'GATE_STOP', `review-queue:${who.reviewer}`);
      } catch {
        /* the queue still closes; the missing stop is visible in the trail */
      } finally {
        await store.close();
      }
      io.stdout.write('\x1b[?25h\x1b[?1049l');
      resolve(code);
    };
    const handle = async (chunk: Buffer): Promise<void> => {
      for (const key of keys(chunk.toString('utf8'))) {
        const action = onKey(state, key);
        if (action === 'quit') return finish(ExitCode.Allowed);
        if (action === 'refresh') await refresh();
        if (action && typeof action === 'object' && state.selected) {
          const id = state.selected;
          state.message = `signing ${action.submit} of ${id}…`;
          draw();
          try {
            // ssh-keygen may ask for the key's passphrase on the terminal
            input.setRawMode!(false);
            state.message = describeOutcome(
              await signAndApply(store, policy, id, action.submit, who, action.reason, io.env),
            );
          } catch (err) {
            state.message = s.red(`error: ${(err as Error).message}`);
          } finally {
            input.setRawMode!(true);
          }
          await refresh();
        }
      }
      draw();
    };
    // keys and ticks run one after another, in the order they came
    let chain: Promise<void> = Promise.resolve();
    let queued = 0;
    const enqueue = (job: () => Promise<void>): void => {
      queued++;
      chain = chain
        .then(job)
        .catch((err: unknown) => {
          state.message = s.red(`error: ${(err as Error).message}`);
        })
        .finally(() => {
          queued--;
        });
    };
    const onData = (chunk: Buffer): void => {
      if (!finished) enqueue(() => handle(chunk));
    };
    input.on('data', onData);
    const tick = async (): Promise<void> => {
      try {
        // an open queue keeps the trail under a fresh signed checkpoint
        await store.checkpoint(new Date(), 60_000);
        await refresh();
        draw();
      } catch (err) {
        state.message = s.red(`error: ${(err as Error).message}`);
      }
    };
    const timer = setInterval(() => {
      if (queued === 0 && !finished) enqueue(tick);
    }, 500);
    io.signal?.addEventListener('abort', () => void finish(ExitCode.Allowed), { once: true });
    enqueue(async () => {
      await refresh();
      draw();
    });
  });
}
