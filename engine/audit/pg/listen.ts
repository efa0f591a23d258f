/**
 * The trail's appends as PostgreSQL announces them: a connection of its own LISTENs on the
 * channel the append trigger NOTIFYs (schema.ts), and hands each committed event's
 * `seq:type:command_id` on. When the connection drops it reconnects (backing off up to two
 * seconds) and says so, since what was announced meanwhile was missed: listeners then read the
 * store once (the bounded poll after a reconnect) instead of polling all along.
 */
import type pg from 'pg';
import { loadPg } from './backend.js';
import { NOTIFY_CHANNEL } from './schema.js';

export interface Announced {
  readonly seq: number;
  readonly type: string;
  readonly command_id: string | null;
}

export interface NotificationHandlers {
  onEvent(event: Announced): void;
  /** The connection was lost and is back: events may have been missed. */
  onReconnect(): void;
}

export class PgNotifications {
  private client: pg.Client | null = null;
  private closed = false;
  private backoff = 100;

  private constructor(
    private readonly url: string,
    private readonly handlers: NotificationHandlers,
  ) {}

  static async connect(url: string, handlers: NotificationHandlers): Promise<PgNotifications> {
    const n = new PgNotifications(url, handlers);
    await n.listen();
    return n;
  }

  private async listen(): Promise<void> {
    const { Client } = await loadPg();
    const client = new Client({ connectionString: this.url, application_name: 'policy-gate listen', keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel !== NOTIFY_CHANNEL || !msg.payload) return;
      const [seq, type, ...rest] = msg.payload.split(':');
      const id = rest.join(':');
      this.handlers.onEvent({ seq: Number(seq), type: type ?? '', command_id: id === '' ? null : id });
    });
    const lost = (): void => {
      if (this.client !== client || this.closed) return;
      this.client = null;
      void client.end().catch(() => undefined);
      this.reconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.client = client;
    this.backoff = 100;
  }

  private reconnect(): void {
    if (this.closed) return;
    const wait = this.backoff;
    this.backoff = Math.min(2000, this.backoff * 2);
    setTimeout(() => {
      if (this.closed) return;
      this.listen().then(
        () => this.handlers.onReconnect(),
        () => this.reconnect(),
      );
    }, wait).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
