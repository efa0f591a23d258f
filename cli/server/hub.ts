/**
 * What a resident gate tells its waiters and listeners: the trail's new events, as they are
 * appended. The server's own writes (a decision through the API, a submission) wake it at
 * once (`poke`), so a waiting submission learns of its decision without polling; other
 * processes sharing the store (a reviewer's CLI, a waiting `check`) are noticed by a slow read
 * of the events after the last one seen (`externalPollMs`), and only while someone listens — or,
 * on a PostgreSQL trail, when the database announces an append (no polling at all).
 */
import { NotifyingWaiter, type AuditStore, type DecidedBody, type StoredEvent } from '../../engine/index.js';

type Listener = (event: StoredEvent) => void;

export class Hub {
  private last = 0;
  private readonly listeners = new Set<Listener>();
  private readonly waiter: NotifyingWaiter;
  private waiters = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Events were appended while nobody listened or waited, and were not read. */
  private stale = false;

  /**
   * `externalPollMs`: how often the trail is read for other processes' events while someone
   * listens or waits; null when the store announces them (PostgreSQL's NOTIFY calls `poke`).
   */
  constructor(
    private readonly store: AuditStore,
    private readonly externalPollMs: number | null = 250,
  ) {
    this.waiter = new NotifyingWaiter(store);
  }

  /** Start after the events already in the trail. */
  async start(): Promise<void> {
    this.last = await this.store.eventCount();
    this.schedule();
  }

  /** Something was appended by this process: read it now (nobody listening or waiting: later). */
  poke(): void {
    if (this.closed) return;
    if (this.listeners.size === 0 && this.waiters === 0) {
      this.stale = true; // nobody to tell: the events need not even be read
      return;
    }
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /**
   * Catch up after a time nobody listened: start after the events now in the trail. Called before
   * a listener starts and before a wait looks at the store, so nothing it needs is skipped.
   */
  async current(): Promise<void> {
    if (!this.stale) return;
    this.stale = false;
    this.last = Math.max(this.last, await this.store.eventCount());
  }

  /** Called with every new event until the returned function is called (after `current()`). */
  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    this.schedule();
    return () => this.listeners.delete(listener);
  }

  /** A DecisionWaiter: the decision as soon as it is recorded (by anyone), or null after `ms`. */
  async next(commandId: string, ms: number, signal?: AbortSignal): Promise<DecidedBody | null> {
    if (this.closed) return this.store.decision(commandId);
    this.waiters++;
    this.schedule(); // decisions of other processes are read while someone waits
    try {
      await this.current(); // before the waiter looks at the store: a decision after that look is read

      return await this.waiter.next(commandId, ms, signal);
    } finally {
      this.waiters--;
    }
  }

  /** Stop reading; every waiter is woken (and finds what the store says). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiter.notifyAll();
  }

  private schedule(): void {
    if (this.timer || this.closed || this.externalPollMs === null) return;
    if (this.listeners.size === 0 && this.waiters === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poke();
      this.schedule();
    }, this.externalPollMs);
    this.timer.unref();
  }

  private async read(): Promise<void> {
    let events: StoredEvent[];
    try {
      events = await this.store.events(this.last + 1);
    } catch {
      return; // the store is busy or failing: the next read tries again, waiters time out as usual
    }
    for (const event of events) {
      this.last = Math.max(this.last, event.seq);
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          /* a listener's failure (a closed stream) is its own */
        }
      }
      if (event.type === 'DECIDED' && event.command_id) this.waiter.notify(event.command_id);
    }
  }
}
