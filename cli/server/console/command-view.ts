/**
 * A command as a reviewer reads it: the text with each hit's bytes marked (rule and message on
 * hover or focus), the hits, and every segment with why it was or was not whitelisted. Hidden
 * characters are shown as escapes, so the text on screen is the text that would run.
 */
import { h, type Child } from './dom.js';
import { byteToIndex, scoreLevel, visibleRuns } from './format.js';
import type { CommandRecord, Signal } from './types.js';

function textWithEscapes(text: string): (Node | string)[] {
  return visibleRuns(text).map(([t, hidden]) =>
    hidden ? h('span', { class: 'escape', title: 'hidden character' }, t) : t,
  );
}

/** Hits that point at bytes of the command (context signals such as off-hours point at none). */
function located(signals: readonly Signal[]): Signal[] {
  return signals.filter((s) => s.category !== 'context' && s.span[1] > s.span[0]);
}

/** The command text, each stretch covered by hits marked with the strongest one's colour. */
export function highlightedCommand(command: string, signals: readonly Signal[]): HTMLElement {
  const index = byteToIndex(command);
  const hits = located(signals).map((s) => ({ signal: s, from: index(s.span[0]), to: index(s.span[1]) }));
  const cuts = [...new Set([0, command.length, ...hits.flatMap((x) => [x.from, x.to])])].sort((a, b) => a - b);
  const code = h('code', { class: 'command-text' });
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i]!, cuts[i + 1]!];
    const piece = command.slice(from, to);
    const over = hits.filter((x) => x.from <= from && x.to >= to).map((x) => x.signal);
    if (over.length === 0) {
      code.append(...textWithEscapes(piece));
      continue;
    }
    const top = Math.max(...over.map((s) => s.score));
    const tip = over.map((s) => `${s.rule_id} (${s.score}): ${s.message}`).join('\n');
    code.append(
      h(
        'mark',
        {
          class: `hit risk-${scoreLevel(top)}`,
          tabindex: 0,
          'data-tip': tip,
          'data-rules': over.map((s) => s.rule_id).join(' '),
          'aria-label': tip,
        },
        ...textWithEscapes(piece),
      ),
    );
  }
  return h('pre', { class: 'command' }, code);
}

export function signalList(signals: readonly Signal[]): HTMLElement {
  if (signals.length === 0) return h('p', { class: 'muted' }, 'No rule matched.');
  const sorted = [...signals].sort((a, b) => b.score - a.score);
  return h(
    'ul',
    { class: 'signals' },
    ...sorted.map((s) =>
      h(
        'li',
        {},
        h('span', { class: `score risk-${scoreLevel(s.score)}` }, s.score),
        h('span', { class: 'rule' }, s.rule_id),
        h('span', { class: 'message' }, s.message),
        s.waivable
          ? null
          : h('span', { class: 'tag', title: 'no whitelist rule can ever cover this' }, 'never whitelisted'),
      ),
    ),
  );
}

/** Why segment `i` was or was not whitelisted, as the record tells. */
function whitelistReason(r: CommandRecord, i: number): { ok: boolean; text: string } {
  const seg = r.segments[i]!;
  if (seg.covered_by) return { ok: true, text: `covered by ${seg.covered_by}` };
  const refused = r.whitelist_refused.find((x) => x.segment === i);
  if (refused) return { ok: false, text: `${refused.rule_id} matches but may not be used: ${refused.reason}` };
  if (seg.dynamic) return { ok: false, text: 'dynamic: what runs is only known at run time, never whitelisted' };
  const hard = r.signals.find((s) => s.segment === i && !s.waivable);
  if (hard) return { ok: false, text: `${hard.rule_id} can never be whitelisted` };
  return { ok: false, text: 'no whitelist rule covers it' };
}

export function segmentTable(r: CommandRecord): HTMLElement {
  if (r.segments.length === 0) return h('p', { class: 'muted' }, 'No segment: nothing would execute.');
  return h(
    'table',
    { class: 'segments' },
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'segment'), h('th', {}, 'via'), h('th', {}, 'whitelist'))),
    h(
      'tbody',
      {},
      ...r.segments.map((seg, i) => {
        const why = whitelistReason(r, i);
        const flags = [
          seg.privileged ? 'privileged' : null,
          seg.wrappers.length ? `via ${seg.wrappers.join(', ')}` : null,
        ]
          .filter(Boolean)
          .join(' · ');
        return h(
          'tr',
          {},
          h('td', { class: 'num' }, i),
          h(
            'td',
            {},
            h('code', {}, ...textWithEscapes(seg.argv.join(' '))),
            flags ? h('div', { class: 'muted small' }, flags) : null,
          ),
          h('td', { class: 'muted' }, seg.via),
          h('td', { class: why.ok ? 'ok' : 'not-ok' }, why.ok ? '✓ ' : '✗ ', why.text),
        );
      }),
    ),
  );
}

/** Rows of label/value pairs. */
export function facts(rows: readonly [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)]),
  );
}
