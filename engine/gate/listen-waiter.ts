/**
 * Waiting for decisions on a PostgreSQL trail: woken by the database's NOTIFY when a DECIDED
 * event of the command commits — in this process or any other, on any replica — and, after the
 * notification connection was lost and came back, by one read of the store (what was announced
 * meanwhile was missed). No polling otherwise.
 */
import { PgNotifications } from '../audit/pg/listen.js';
import type { AuditReader } from '../audit/store.js';
import type { DecidedBody } from '../model/events.js';
import { NotifyingWaiter, type DecisionWaiter } from './waiter.js';

export class ListenWaiter implements DecisionWaiter {
  private readonly waiter: NotifyingWaiter;
  private closed = false;

  private constructor(
    store: Pick<AuditReader, 'decision'>,
    private notifications: PgNotifications | null = null,
  ) {
    this.waiter = new NotifyingWaiter(store);
  }

  /** Listen on the trail at `url` (a connection of its own). */
  static async connect(url: string, store: Pick<AuditReader, 'decision'>): Promise<ListenWaiter> {
    const w = new ListenWaiter(store);
    w.notifications = await PgNotifications.connect(url, {
      onEvent: (event) => {
        if (event.type === 'DECIDED' && event.command_id) w.waiter.notify(event.command_id);
      },
      onReconnect: () => w.waiter.notifyAll(),
    });
    return w;
  }

  async next(commandId: string, ms: number, signal?: AbortSignal): Promise<DecidedBody | null> {
    const until = Date.now() + ms;
    for (;;) {
      const decided = await this.waiter.next(commandId, Math.max(0, until - Date.now()), signal);
      // woken after a reconnect with nothing decided yet: wait on for the time that is left
      if (decided || signal?.aborted || this.closed || Date.now() >= until) return decided;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter.notifyAll();
    await this.notifications?.close();
  }
}
