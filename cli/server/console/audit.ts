/**
 * The audit trail: every command with filters and paging, one command's decision with its
 * signatures and how they verify, a session's timeline, recordings, and charts of decisions
 * and review latency. Keys: j/k move, Enter opens, / searches.
 */
import { authHeader, get, query } from './api.js';
import { decisionsChart, fillRange, latencyChart } from './charts.js';
import { facts, highlightedCommand, segmentTable, signalList } from './command-view.js';
import { fill, h, type Child } from './dom.js';
import { clock, dateTime, duration, oneLine } from './format.js';
import type { CommandPage, CommandRecord, SignedDecision, StatsBucket, VerifyResult } from './types.js';
import { errorText, notify, riskBadge, stateBadge } from './ui.js';

type Player = typeof import('./player.js');

const DECISIONS = ['', 'allowed', 'approved', 'denied', 'pending', 'timed_out', 'whitelisted'];
const RISKS = ['', 'low', 'medium', 'high', 'critical'];
const FILTERS = ['session', 'decision', 'decided_by', 'risk', 'from', 'to', 'q'] as const;

let player: Promise<Player> | null = null;
/** The player and its stylesheet, fetched the first time a recording is played. */
function loadPlayer(): Promise<Player> {
  if (!player) {
    document.head.append(h('link', { rel: 'stylesheet', href: new URL('player.css', import.meta.url).href }));
    player = import(new URL('player.js', import.meta.url).href) as Promise<Player>;
  }
  return player;
}

/** How a reviewer's decision was proven (records from before passkeys are SSH-signed), and with what. */
function proofOf(sig: SignedDecision): { kind: 'ssh' | 'webauthn' | 'token'; by: string } {
  switch (sig.proof) {
    case 'webauthn':
      return { kind: 'webauthn', by: `passkey ${sig.credential_id}` };
    case 'token':
      return { kind: 'token', by: `token ${sig.token_id}` };
    default:
      return { kind: 'ssh', by: sig.key_fingerprint };
  }
}

export class AuditView {
  private records: CommandRecord[] = [];
  private next: string | null = null;
  private cursor = -1;
  private verify: { at: number; result: Promise<VerifyResult> } | null = null;
  private bucket: 'hour' | 'day' = 'hour';
  private readonly form: HTMLFormElement;
  private readonly fields = new Map<(typeof FILTERS)[number], HTMLInputElement | HTMLSelectElement>();
  private readonly rows = h('tbody', { id: 'audit-rows' });
  private readonly more = h(
    'button',
    { type: 'button', id: 'audit-more', onclick: () => void this.load(true) },
    'Older',
  );
  private readonly detail = h('div', { class: 'detail-pane', id: 'audit-detail', 'aria-live': 'polite' });
  private readonly badge = h('span', { class: 'badge verify-unknown', id: 'verify-badge' }, 'verifying…');
  private readonly charts = h('div', { class: 'charts', id: 'charts' });

  constructor() {
    const input = (name: (typeof FILTERS)[number], props: Record<string, string>): HTMLInputElement => {
      const el = h('input', { name, id: `f-${name}`, autocomplete: 'off', ...props });
      this.fields.set(name, el);
      return el;
    };
    const select = (name: (typeof FILTERS)[number], options: readonly string[]): HTMLSelectElement => {
      const el = h(
        'select',
        { name, id: `f-${name}` },
        ...options.map((o) => h('option', { value: o }, o ? o.replace('_', ' ') : 'any')),
      );
      this.fields.set(name, el);
      return el;
    };
    const field = (text: string, control: HTMLElement): HTMLElement => h('label', {}, h('span', {}, text), control);
    this.form = h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filter the trail',
        onsubmit: (e) => (e.preventDefault(), void this.load(false)),
      },
      field('search', input('q', { type: 'search', placeholder: 'command text  ( / )' })),
      field('session', input('session', { type: 'text' })),
      field('decision', select('decision', DECISIONS)),
      field('decided by', input('decided_by', { type: 'text' })),
      field('risk at least', select('risk', RISKS)),
      field('from', input('from', { type: 'datetime-local' })),
      field('to', input('to', { type: 'datetime-local' })),
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'button', onclick: () => (this.form.reset(), void this.load(false)) }, 'Reset'),
    );
  }

  mount(main: HTMLElement, route: { command?: string; session?: string }): void {
    fill(
      main,
      h(
        'section',
        { class: 'audit', 'aria-label': 'Audit trail' },
        h(
          'div',
          { class: 'overview' },
          h(
            'div',
            { class: 'overview-head' },
            h('h2', {}, 'Trail'),
            this.badge,
            h('button', { type: 'button', onclick: () => void this.showVerify(true) }, 'Verify again'),
            h(
              'select',
              {
                'aria-label': 'Chart range',
                onchange: (e) => (
                  (this.bucket = (e.target as HTMLSelectElement).value as 'hour' | 'day'),
                  void this.showStats()
                ),
              },
              h('option', { value: 'hour' }, 'last 24 hours'),
              h('option', { value: 'day' }, 'last 30 days'),
            ),
          ),
          this.charts,
        ),
        this.form,
        h(
          'div',
          { class: 'split' },
          h(
            'div',
            { class: 'list-pane' },
            h(
              'table',
              { class: 'records' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['time', 'decision', 'risk', 'command', 'agent', 'by', 'latency'].map((t) => h('th', {}, t)),
                ),
              ),
              this.rows,
            ),
            this.more,
          ),
          this.detail,
        ),
      ),
    );
    void this.showVerify(false);
    void this.showStats();
    void this.load(false);
    if (route.session) void this.showSession(route.session);
    else if (route.command) void this.showCommand(route.command);
    else
      fill(
        this.detail,
        h(
          'div',
          { class: 'placeholder' },
          h('p', { class: 'muted' }, 'Select a command to see its decision, signatures and recording.'),
        ),
      );
  }

  unmount(): void {}

  private async load(older: boolean): Promise<void> {
    const q: Record<string, string | null> = {};
    for (const name of FILTERS) {
      const v = this.fields.get(name)!.value.trim();
      q[name] = v && (name === 'from' || name === 'to') ? new Date(v).toISOString() : v;
    }
    try {
      const page = await get<CommandPage>(
        `/v1/commands${query({ ...q, limit: 50, before: older ? this.next : null })}`,
      );
      this.records = older ? [...this.records, ...page.items] : [...page.items];
      this.next = page.next;
      if (!older) this.cursor = -1;
      this.renderRows();
    } catch (err) {
      notify(`audit: ${errorText(err)}`, 'error');
    }
  }

  private renderRows(): void {
    this.more.hidden = this.next === null;
    if (this.records.length === 0) {
      fill(this.rows, h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No command matches.')));
      return;
    }
    fill(
      this.rows,
      ...this.records.map((r, i) =>
        h(
          'tr',
          {
            tabindex: 0,
            'data-id': r.command_id,
            class: i === this.cursor ? 'selected' : '',
            onclick: () => this.open(i),
            onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && this.open(i),
          },
          h('td', { class: 'nowrap muted' }, dateTime(r.submitted_at)),
          h('td', {}, stateBadge(r.decision)),
          h('td', {}, riskBadge(r.risk_level, r.risk_score)),
          h('td', {}, h('code', { class: 'one-line' }, oneLine(r.command, 70))),
          h('td', {}, r.agent ?? '—'),
          h('td', {}, r.decided_by ?? '—'),
          h('td', { class: 'num' }, r.review_latency_ms === null ? '—' : duration(r.review_latency_ms)),
        ),
      ),
    );
  }

  private open(i: number): void {
    this.cursor = i;
    this.renderRows();
    const id = this.records[i]!.command_id;
    history.replaceState(null, '', `#/audit/${encodeURIComponent(id)}`);
    void this.showCommand(id);
  }

  private verified(fresh: boolean): Promise<VerifyResult> {
    if (!this.verify || fresh) this.verify = { at: Date.now(), result: get<VerifyResult>('/v1/verify') };
    return this.verify.result;
  }

  private async showVerify(fresh: boolean): Promise<void> {
    this.badge.className = 'badge verify-unknown';
    this.badge.textContent = 'verifying…';
    try {
      const v = await this.verified(fresh);
      this.badge.className = `badge ${v.ok ? 'verify-ok' : 'verify-bad'}`;
      this.badge.textContent = v.ok
        ? `✓ verified: ${v.events} events, ${v.checkpoints} checkpoints${v.unsigned_tail ? `, ${v.unsigned_tail} after the last` : ''}`
        : `✗ ${v.failure?.check ?? 'failed'}: ${v.failure?.message ?? 'the trail does not verify'}`;
      this.badge.title = v.warnings.join('\n');
    } catch (err) {
      this.badge.className = 'badge verify-bad';
      this.badge.textContent = `verify: ${errorText(err)}`;
    }
  }

  private async showStats(): Promise<void> {
    const now = Date.now();
    const from = now - (this.bucket === 'hour' ? 23 * 3600_000 : 29 * 86_400_000);
    try {
      const { buckets } = await get<{ buckets: StatsBucket[] }>(
        `/v1/stats${query({ bucket: this.bucket, from: new Date(from).toISOString() })}`,
      );
      const all = fillRange(buckets, this.bucket, from, now);
      fill(this.charts, decisionsChart(all, this.bucket), latencyChart(all, this.bucket));
    } catch (err) {
      fill(this.charts, h('p', { class: 'muted' }, `No charts: ${errorText(err)}`));
    }
  }

  private async showCommand(id: string): Promise<void> {
    fill(this.detail, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const { record: r } = await get<{ record: CommandRecord }>(`/v1/commands/${encodeURIComponent(id)}`);
      fill(this.detail, ...this.commandDetail(r));
      if (r.signatures.some((sig) => sig.proof !== 'token')) void this.markSignatures(r);
    } catch (err) {
      fill(this.detail, h('p', { class: 'decide-error' }, errorText(err)));
    }
  }

  private commandDetail(r: CommandRecord): Child[] {
    const exec = r.execution;
    return [
      h(
        'header',
        { class: 'detail-head' },
        stateBadge(r.decision),
        riskBadge(r.risk_level, r.risk_score),
        h('code', { class: 'muted id' }, r.command_id),
      ),
      highlightedCommand(r.command, r.signals),
      h('h3', {}, 'Decision'),
      facts([
        ['decision', stateBadge(r.decision)],
        ['decided by', h('span', { id: 'decided-by' }, r.decided_by ?? 'not decided')],
        ['latency', h('span', { id: 'latency' }, r.review_latency_ms === null ? '—' : duration(r.review_latency_ms))],
        ['decided at', r.decided_at ? dateTime(r.decided_at) : null],
        ['reason', r.reason],
        ['submitted', dateTime(r.submitted_at)],
        ['agent', r.agent],
        ['intent', r.intent],
        ['cwd', r.cwd ? h('code', {}, r.cwd) : null],
        [
          'session',
          r.session_id ? h('a', { href: `#/session/${encodeURIComponent(r.session_id)}` }, r.session_id) : null,
        ],
        ['policy', h('code', {}, r.policy_revision.slice(0, 19))],
      ]),
      r.signatures.length ? h('h3', {}, 'Signatures') : null,
      r.signatures.length
        ? h(
            'table',
            { class: 'signatures' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['reviewer', 'proof', 'decision', 'signed at', 'key', 'status'].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...r.signatures.map((sig) => {
                let st: { decision?: string; signed_at?: string } = {};
                try {
                  st = JSON.parse(sig.statement) as typeof st;
                } catch {
                  /* shown as unknown; verify says why */
                }
                const proof = proofOf(sig);
                return h(
                  'tr',
                  {},
                  h('td', {}, sig.reviewer),
                  h('td', {}, h('span', { class: 'badge proof' }, proof.kind)),
                  h('td', {}, st.decision ?? '?'),
                  h('td', { class: 'nowrap' }, st.signed_at ? dateTime(st.signed_at) : '?'),
                  h('td', {}, h('code', { class: 'one-line' }, proof.by)),
                  proof.kind === 'token'
                    ? h('td', {}, h('span', { class: 'badge verify-unknown' }, 'not signed: the token alone'))
                    : h('td', { class: 'sig-status' }, h('span', { class: 'badge verify-unknown' }, 'verifying…')),
                );
              }),
            ),
          )
        : null,
      r.signals.length ? h('h3', {}, 'Hits') : null,
      r.signals.length ? signalList(r.signals) : null,
      r.decision !== 'whitelisted' ? h('h3', {}, 'Segments') : null,
      r.decision !== 'whitelisted' ? segmentTable(r) : null,
      exec ? h('h3', {}, 'Execution') : null,
      exec
        ? facts([
            ['started', dateTime(exec.started_at)],
            ['exit code', exec.exit_code === null ? 'still running, or no end recorded' : String(exec.exit_code)],
            ['signal', exec.signal],
            ['duration', exec.duration_ms === null ? null : duration(exec.duration_ms)],
            [
              'recording',
              exec.recording ? `${exec.recording.bytes} bytes, sha256 ${exec.recording.sha256.slice(0, 16)}…` : 'none',
            ],
          ])
        : null,
      exec?.recording
        ? h(
            'button',
            { type: 'button', id: 'play', onclick: (e) => void this.play(r.command_id, e.target as HTMLButtonElement) },
            'Play recording',
          )
        : null,
    ];
  }

  /** The trail's verification re-checks each signature (passkey and SSH): shown on every one once known. */
  private async markSignatures(r: CommandRecord): Promise<void> {
    // a result older than the decision says nothing about it
    const stale = !this.verify || (r.decided_at !== null && this.verify.at < Date.parse(r.decided_at) + 1000);
    let text: string;
    let cls: string;
    try {
      const v = await this.verified(stale);
      void this.showVerify(false);
      [cls, text] = v.ok
        ? ['verify-ok', '✓ signature verified']
        : ['verify-bad', `✗ ${v.failure?.message ?? 'does not verify'}`];
    } catch (err) {
      [cls, text] = ['verify-bad', `not verified: ${errorText(err)}`];
    }
    for (const cell of this.detail.querySelectorAll('.sig-status'))
      fill(cell, h('span', { class: `badge ${cls}` }, text));
  }

  private async play(id: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const { create } = await loadPlayer();
      const box = h('div', { class: 'player', id: 'player' });
      button.replaceWith(box);
      create({ url: `/v1/commands/${encodeURIComponent(id)}/recording`, fetchOpts: { headers: authHeader() } }, box, {
        autoPlay: true,
        idleTimeLimit: 2,
        fit: 'width',
        terminalFontSize: '13px',
      });
    } catch (err) {
      button.disabled = false;
      notify(`recording: ${errorText(err)}`, 'error');
    }
  }

  private async showSession(id: string): Promise<void> {
    fill(this.detail, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const timeline = await get<{ items: { record: CommandRecord; events: { type: string; at: string }[] }[] }>(
        `/v1/sessions/${encodeURIComponent(id)}`,
      );
      const items = timeline.items.map((i) => i.record);
      const events = new Map(timeline.items.map((i) => [i.record.command_id, i.events.map((e) => e.type)]));
      const agents = [...new Set(items.map((r) => r.agent ?? '—'))].join(', ');
      fill(
        this.detail,
        h(
          'header',
          { class: 'detail-head' },
          h('h2', {}, `Session ${id}`),
          h('span', { class: 'muted' }, `${items.length} command(s) · ${agents}`),
        ),
        h(
          'ol',
          { class: 'timeline', id: 'timeline' },
          ...items.map((r) =>
            h(
              'li',
              { class: `risk-edge-${r.risk_level}` },
              h('span', { class: 'muted time' }, clock(r.submitted_at)),
              stateBadge(r.decision),
              riskBadge(r.risk_level, r.risk_score),
              h('a', { href: `#/audit/${encodeURIComponent(r.command_id)}` }, h('code', {}, oneLine(r.command, 80))),
              r.decided_by && r.decision !== 'whitelisted'
                ? h(
                    'span',
                    { class: 'muted' },
                    `by ${r.decided_by}${r.review_latency_ms === null ? '' : ` in ${duration(r.review_latency_ms)}`}`,
                  )
                : null,
              r.intent ? h('div', { class: 'muted small' }, `intent: ${r.intent}`) : null,
              h('div', { class: 'muted small' }, (events.get(r.command_id) ?? []).join(' → ')),
            ),
          ),
        ),
      );
    } catch (err) {
      fill(this.detail, h('p', { class: 'decide-error' }, errorText(err)));
    }
  }

  key(e: KeyboardEvent): boolean {
    if (e.key === '/') {
      this.fields.get('q')!.focus();
      return true;
    }
    if (e.key !== 'j' && e.key !== 'k') return false;
    if (this.records.length === 0) return true;
    this.open(Math.max(0, Math.min(this.records.length - 1, this.cursor + (e.key === 'j' ? 1 : -1))));
    this.rows.querySelector<HTMLElement>('tr.selected')?.focus();
    return true;
  }
}
