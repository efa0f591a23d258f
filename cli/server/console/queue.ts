/**
 * The review queue, live: pending commands highest risk first, and the selected one in full,
 * with its countdown, approvals so far and the approve / deny controls. Keys: j/k move, a
 * approves, d denies (asks for a reason first), / filters, r focuses the reason.
 */
import { get } from './api.js';
import { highlightedCommand, facts, segmentTable, signalList } from './command-view.js';
import { CannotDecide, decide } from './decide.js';
import { fill, h, type Child } from './dom.js';
import { clock, dateTime, duration, oneLine, timeLeft } from './format.js';
import type { ReviewView } from './types.js';
import { errorText, me, notify, riskBadge, stateBadge } from './ui.js';

interface Shown {
  readonly view: ReviewView;
  /** When the view's time_left_ms was true, by this browser's clock. */
  readonly deadline: number | null;
}

export class QueueView {
  private items: Shown[] = [];
  private selected: string | null = null;
  private shownJson = '';
  private filter = '';
  private armedDeny = false;
  private busy = false;
  private readonly list = h('ul', {
    class: 'queue',
    role: 'listbox',
    'aria-label': 'Pending commands',
    id: 'queue-list',
  });
  private readonly detail = h('div', { class: 'detail-pane', id: 'queue-detail', 'aria-live': 'polite' });
  private readonly count = h('span', { class: 'muted', id: 'queue-count' });
  private readonly filterBox = h('input', {
    type: 'search',
    id: 'queue-filter',
    placeholder: 'Filter: command, agent, session, rule  ( / )',
    'aria-label': 'Filter the queue',
    autocomplete: 'off',
    oninput: () => {
      this.filter = this.filterBox.value.trim().toLowerCase();
      this.renderList();
      this.renderDetail(false); // the selection may have been filtered out
    },
  });
  private ticker: number | undefined;

  constructor(private readonly onCount: (n: number) => void) {}

  mount(main: HTMLElement, select: string | null): void {
    if (select) this.selected = select;
    fill(
      main,
      h(
        'section',
        { class: 'split', 'aria-label': 'Review queue' },
        h('div', { class: 'list-pane' }, h('div', { class: 'toolbar' }, this.filterBox, this.count), this.list),
        this.detail,
      ),
    );
    this.renderList();
    this.renderDetail(true);
    this.ticker = window.setInterval(() => this.tick(), 1000);
    void this.refresh();
  }

  unmount(): void {
    window.clearInterval(this.ticker);
  }

  async refresh(): Promise<void> {
    try {
      const { items } = await get<{ items: ReviewView[] }>('/v1/queue');
      const now = Date.now();
      this.items = items.map((view) => ({
        view,
        deadline: view.time_left_ms === null ? null : now + view.time_left_ms,
      }));
      this.onCount(items.length);
      this.renderList();
      this.renderDetail(false);
    } catch (err) {
      notify(`queue: ${errorText(err)}`, 'error');
    }
  }

  private visible(): Shown[] {
    if (!this.filter) return this.items;
    return this.items.filter(({ view: { record: r } }) =>
      [r.command, r.agent ?? '', r.session_id ?? '', r.command_id, ...r.signals.map((s) => s.rule_id)].some((t) =>
        t.toLowerCase().includes(this.filter),
      ),
    );
  }

  private current(): Shown | null {
    const shown = this.visible();
    return shown.find((x) => x.view.record.command_id === this.selected) ?? shown[0] ?? null;
  }

  private renderList(): void {
    const shown = this.visible();
    const cur = this.current();
    this.count.textContent = this.filter
      ? `${shown.length} of ${this.items.length} pending`
      : `${this.items.length} pending`;
    if (shown.length === 0) {
      fill(
        this.list,
        h(
          'li',
          { class: 'empty' },
          this.items.length ? 'Nothing matches the filter.' : 'Nothing waits for a reviewer.',
        ),
      );
      return;
    }
    fill(
      this.list,
      ...shown.map(({ view: v, deadline }) => {
        const r = v.record;
        const isCur = r.command_id === cur?.view.record.command_id;
        return h(
          'li',
          {
            role: 'option',
            'aria-selected': isCur ? 'true' : 'false',
            'data-id': r.command_id,
            class: `queue-item risk-edge-${r.risk_level}${isCur ? ' selected' : ''}`,
            onclick: () => this.select(r.command_id),
          },
          h(
            'div',
            { class: 'row' },
            riskBadge(r.risk_level, r.risk_score),
            h('code', { class: 'one-line' }, oneLine(r.command, 90)),
          ),
          h(
            'div',
            { class: 'row meta' },
            h('span', {}, r.agent ?? 'unknown agent'),
            h('span', { class: 'countdown', 'data-deadline': deadline ?? '' }, timeLeft(v.time_left_ms)),
            h('span', { class: 'approvals' }, `approvals ${v.approvals.length}/${v.approvals_needed}`),
          ),
        );
      }),
    );
  }

  private select(id: string): void {
    this.selected = id;
    this.armedDeny = false;
    this.renderList();
    this.renderDetail(true);
    this.list.querySelector('.selected')?.scrollIntoView({ block: 'nearest' });
    history.replaceState(null, '', `#/queue/${encodeURIComponent(id)}`);
  }

  /** Redraw the detail when the selection or what it shows changed (a redraw would lose a typed reason). */
  private renderDetail(force: boolean): void {
    const cur = this.current();
    const json = cur ? JSON.stringify({ ...cur.view, time_left_ms: null }) : '';
    if (!force && json === this.shownJson) return;
    const reason = this.detail.querySelector<HTMLInputElement>('#reason');
    const keep = !force && cur && reason?.dataset.id === cur.view.record.command_id ? reason.value : '';
    this.shownJson = json;
    if (!cur) {
      fill(
        this.detail,
        h(
          'div',
          { class: 'placeholder' },
          h('p', {}, 'Nothing to review.'),
          h('p', { class: 'muted' }, 'New commands appear here as agents submit them.'),
        ),
      );
      return;
    }
    this.selected = cur.view.record.command_id;
    fill(this.detail, ...this.detailOf(cur, keep));
  }

  private detailOf({ view: v, deadline }: Shown, reasonText: string): Child[] {
    const r = v.record;
    const reason = h('input', {
      type: 'text',
      id: 'reason',
      'data-id': r.command_id,
      placeholder: 'Reason (recorded and signed with the decision)',
      'aria-label': 'Reason',
      maxlength: 500,
      autocomplete: 'off',
      onkeydown: (e) => this.reasonKey(e as KeyboardEvent),
    });
    reason.value = reasonText;
    const who = me();
    const how = !who.reviewer
      ? `${who.identity} is not a reviewer and cannot decide.`
      : who.passkeys.length
        ? 'Your passkey signs the decision.'
        : who.token_decisions
          ? 'No passkey: this decision is recorded on your token alone (gate.yaml allows it).'
          : 'Decisions must be signed: register a passkey first (Passkeys, key p).';
    return [
      h(
        'header',
        { class: 'detail-head' },
        riskBadge(r.risk_level, r.risk_score),
        stateBadge(r.decision),
        h('span', { class: 'countdown big', 'data-deadline': deadline ?? '' }, timeLeft(v.time_left_ms)),
        h('span', { class: 'approvals big' }, `approvals ${v.approvals.length}/${v.approvals_needed}`),
        v.approvals.length ? h('span', { class: 'muted' }, `(${v.approvals.join(', ')})`) : null,
        h('code', { class: 'muted id' }, r.command_id),
      ),
      highlightedCommand(r.command, r.signals),
      h('h3', {}, 'Hits'),
      signalList(r.signals),
      h('h3', {}, 'Segments'),
      segmentTable(r),
      h('h3', {}, 'Context'),
      facts([
        ['agent', r.agent],
        ['intent', r.intent],
        ['cwd', r.cwd ? h('code', {}, r.cwd) : null],
        [
          'session',
          r.session_id ? h('a', { href: `#/session/${encodeURIComponent(r.session_id)}` }, r.session_id) : null,
        ],
        [
          'submitted',
          `${dateTime(r.submitted_at)}${r.local_time ? ` (local ${r.local_time.slice(11, 16)} ${r.time_zone ?? ''})` : ''}`,
        ],
        ['policy', h('code', {}, r.policy_revision.slice(0, 19))],
      ]),
      v.session.length
        ? h(
            'div',
            {},
            h('h3', {}, `Earlier in this session (${v.session.length})`),
            h(
              'ol',
              { class: 'history' },
              ...v.session.map((p) =>
                h(
                  'li',
                  {},
                  h('span', { class: 'muted' }, clock(p.submitted_at)),
                  stateBadge(p.decision),
                  h('code', { class: 'one-line' }, oneLine(p.command, 80)),
                  p.decided_by && p.decision !== 'whitelisted'
                    ? h('span', { class: 'muted' }, `by ${p.decided_by}`)
                    : null,
                  p.review_latency_ms !== null && p.decision !== 'whitelisted'
                    ? h('span', { class: 'muted' }, duration(p.review_latency_ms))
                    : null,
                ),
              ),
            ),
          )
        : null,
      h(
        'form',
        { class: 'decide', onsubmit: (e) => e.preventDefault() },
        reason,
        h(
          'button',
          { type: 'button', class: 'approve', id: 'approve', onclick: () => void this.run('approve') },
          'Approve',
          h('kbd', {}, 'a'),
        ),
        h(
          'button',
          { type: 'button', class: 'deny', id: 'deny', onclick: () => void this.denyKey() },
          'Deny',
          h('kbd', {}, 'd'),
        ),
        h('p', { class: 'muted small how', id: 'how' }, how),
        h('p', { class: 'decide-error', id: 'decide-error', role: 'alert' }),
      ),
    ];
  }

  private reasonKey(e: KeyboardEvent): void {
    if (e.key === 'Enter') {
      e.preventDefault();
      if (this.armedDeny) void this.run('deny');
    } else if (e.key === 'Escape') {
      this.armedDeny = false;
      (e.target as HTMLElement).blur();
    }
  }

  /** Deny wants a reason: the first d asks for one, Enter (or a second d with one typed) denies. */
  private denyKey(): void {
    const reason = this.detail.querySelector<HTMLInputElement>('#reason');
    if (!reason) return;
    if (reason.value.trim()) {
      void this.run('deny');
      return;
    }
    this.armedDeny = true;
    reason.focus();
    this.showError('Say why, then press Enter to deny.', false);
  }

  private showError(text: string, isError = true): void {
    const box = this.detail.querySelector('#decide-error');
    if (box) {
      box.textContent = text;
      box.classList.toggle('info', !isError);
    }
  }

  private async run(decision: 'approve' | 'deny'): Promise<void> {
    const cur = this.current();
    if (!cur || this.busy) return;
    const id = cur.view.record.command_id;
    const reason = this.detail.querySelector<HTMLInputElement>('#reason')?.value.trim() || null;
    this.busy = true;
    this.detail.classList.add('busy');
    this.showError(decision === 'approve' ? 'Approving: confirm with your passkey…' : 'Denying…', false);
    try {
      const out = await decide(id, decision, reason);
      this.armedDeny = false;
      notify(
        out.kind === 'counted'
          ? `Approval ${out.approvals ?? '?'} of ${out.needed ?? '?'} recorded for ${id}`
          : `${out.record.decision} ${id} as ${out.record.decided_by ?? me().identity}`,
        'ok',
      );
      await this.refresh();
    } catch (err) {
      this.showError(err instanceof CannotDecide ? err.message : `Not recorded: ${errorText(err)}`);
    } finally {
      this.busy = false;
      this.detail.classList.remove('busy');
    }
  }

  private move(step: number): void {
    const shown = this.visible();
    if (shown.length === 0) return;
    const at = shown.findIndex((x) => x.view.record.command_id === this.current()?.view.record.command_id);
    const next = shown[Math.max(0, Math.min(shown.length - 1, at + step))]!;
    this.select(next.view.record.command_id);
  }

  /** A single-key shortcut (not typed into a field); true when it was the queue's. */
  key(e: KeyboardEvent): boolean {
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
        this.move(1);
        return true;
      case 'k':
      case 'ArrowUp':
        this.move(-1);
        return true;
      case 'a':
        void this.run('approve');
        return true;
      case 'd':
        this.denyKey();
        return true;
      case 'r':
        this.detail.querySelector<HTMLInputElement>('#reason')?.focus();
        return true;
      case '/':
        this.filterBox.focus();
        this.filterBox.select();
        return true;
      default:
        return false;
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const el of document.querySelectorAll<HTMLElement>('.countdown[data-deadline]')) {
      const at = el.dataset.deadline ? Number(el.dataset.deadline) : null;
      const left = at === null ? null : at - now;
      el.textContent = timeLeft(left);
      el.classList.toggle('urgent', left !== null && left < 60_000);
    }
  }
}
