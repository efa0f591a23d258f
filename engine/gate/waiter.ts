/**
 * Waiting for a reviewer's decision. Several processes sharing one SQLite file can only learn of
 * a decision by reading the store again (polling); a resident server that records decisions
 * itself can wake its waiters at once (notifying). The waiting check takes either.
 */
import type { AuditReader } from '../audit/store.js';
import type { DecidedBody } from '../model/events.js';
import type { Clock } from './clock.js';

export interface DecisionWaiter {
  /**
   * The command's decision as soon as it is recorded, or null when `ms` milliseconds pass (or
   * `signal` aborts) first. Looks at the store before waiting.
   */
  next(commandId: string, ms: number, signal?: AbortSignal): Promise<DecidedBody | null>;
}

/** How often a polling waiter reads the store. */
export const POLL_MS = 50;

/** Reads the store every `pollMs`: for processes that share a store file. */
export function pollingWaiter(store: Pick<AuditReader, 'decision'>, clock: Clock, pollMs = POLL_MS): DecisionWaiter {
  return {
    async next(commandId, ms, signal) {
      const until = clock.monotonic() + ms;
      for (;;) {
        const decided = await store.decision(commandId);
        if (decided) return decided;
        const left = until - clock.monotonic();
        if (left <= 0 || signal?.aborted) return null;
        await clock.sleep(Math.max(1, Math.min(pollMs, left)));
      }
    },
  };
}

/**
 * Wakes waiters when told a decision was recorded in this process (`notify`), and reads the
 * store once more when woken or when the time is up: for a resident server.
 */
export class NotifyingWaiter implements DecisionWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly store: Pick<AuditReader, 'decision'>) {}

  /** Wake every waiter (they read the store once more): the process is stopping. */
  notifyAll(): void {
    for (const set of [...this.waiting.values()]) for (const wake of [...set]) wake();
  }

  /** A decision on `commandId` was recorded: wake whoever waits for it. */
  notify(commandId: string): void {
    for (const wake of this.waiting.get(commandId) ?? []) wake();
  }

  async next(commandId: string, ms: number, signal?: AbortSignal): Promise<DecidedBody | null> {
    const decided = await this.store.decision(commandId);
    if (decided || ms <= 0 || signal?.aborted) return decided;
    await new Promise<void>((resolve) => {
      const set = this.waiting.get(commandId) ?? new Set();
      this.waiting.set(commandId, set);
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.waiting.delete(commandId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
    return this.store.decision(commandId);
  }
}
