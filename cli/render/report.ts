/**
 * The evidence report over the audit trail, as Markdown or as one self-contained HTML file
 * (inline CSS and SVG charts, no scripts, no network). Pure: the report's data in, text out.
 */
import { CONTROLS, type ReportData } from '../../engine/index.js';
import { duration, oneLine } from './text.js';

// -------------------------------------------------------------------------------------------------
// shared wording

const pct = (part: number, whole: number): string => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)}%`);

function verifyLine(d: ReportData): string {
  const v = d.verify;
  if (!v) return 'not run';
  if (v.ok) {
    const tail = v.unsigned_tail ? ` (${v.unsigned_tail} newest events not yet under a signed checkpoint)` : '';
    return `VERIFIED: ${v.events} events, ${v.checkpoints} signed checkpoints, ${v.recordings} recordings${tail}`;
  }
  const f = v.failure!;
  return `FAILED: ${f.check}${f.seq !== null ? ` at event #${f.seq}` : ''}: ${f.message}`;
}

function periodLine(d: ReportData): string {
  return (
    `${d.period.from ?? 'start of the trail'} → ${d.period.to ?? 'now'} ` +
    `(commands from ${d.period.first ?? '—'} to ${d.period.last ?? '—'})`
  );
}

function executionLine(d: ReportData): string {
  if (d.executed === 0) return 'No command was run through `policy-gate exec` in this period.';
  const share = pct(d.executed_after_decision, d.executed);
  const exceptions = d.execution_exceptions.length
    ? ` ${d.execution_exceptions.length} exception(s) are listed below.`
    : ' There is no exception.';
  return (
    `${d.executed_after_decision} of ${d.executed} executed commands (${share}) ` +
    `were approved by a reviewer or whitelisted before they started.${exceptions}`
  );
}

interface Table {
  readonly head: string[];
  readonly rows: (string | number)[][];
}

function tables(
  d: ReportData,
): Record<
  'summary' | 'exceptions' | 'topRules' | 'blocked' | 'anomalies' | 'latency' | 'timeouts' | 'whitelist' | 'daily',
  Table
> {
  const b = d.by_decision;
  return {
    summary: {
      head: ['decision', 'commands', 'share'],
      rows: [
        ['whitelisted', b.whitelisted, pct(b.whitelisted, d.commands)],
        ['approved by a reviewer', b.approved, pct(b.approved, d.commands)],
        [
          `denied (policy ${d.denied_by_policy}, reviewer ${d.denied_by_reviewer})`,
          b.denied,
          pct(b.denied, d.commands),
        ],
        ['timed out', b.timed_out, pct(b.timed_out, d.commands)],
        ['pending', b.pending, pct(b.pending, d.commands)],
        ['all', d.commands, ''],
      ],
    },
    exceptions: {
      head: ['command', 'decision', 'why', 'command_id'],
      rows: d.execution_exceptions.map((e) => [oneLine(e.command, 80), e.decision, e.why, e.command_id]),
    },
    topRules: { head: ['rule', 'commands'], rows: d.blocked.top_rules.map((r) => [r.rule, r.count]) },
    blocked: {
      head: ['submitted', 'decision', 'by', 'rule', 'command'],
      rows: d.blocked.examples.map((e) => [
        e.submitted_at,
        e.decision,
        e.decided_by,
        e.rule ?? '—',
        oneLine(e.command, 60),
      ]),
    },
    anomalies: {
      head: ['signal', 'commands', 'reviewed by a human', 'whitelisted', 'denied or timed out', 'pending'],
      rows: d.anomalies.map((a) => [
        a.signal,
        a.commands,
        a.reviewed_by_human,
        a.whitelisted,
        a.denied_or_timed_out,
        a.pending,
      ]),
    },
    latency: {
      head: ['reviewer', 'decisions', 'approved', 'denied', 'p50', 'p95', 'max'],
      rows: d.latency.map((l) => [
        l.reviewer,
        l.decisions,
        l.approved,
        l.denied,
        duration(l.p50_ms),
        duration(l.p95_ms),
        duration(l.max_ms),
      ]),
    },
    timeouts: {
      head: ['submitted', 'command', 'command_id'],
      rows: d.timeouts.examples.map((t) => [t.submitted_at, oneLine(t.command, 60), t.command_id]),
    },
    whitelist: {
      head: ['rule', 'uses', 'last used', 'commit', 'author', 'reviewed by'],
      rows: d.whitelist_rules.map((w) => [
        w.rule,
        w.uses,
        w.last_used,
        w.commit ? w.commit.slice(0, 12) : 'not in Git',
        w.author ?? '—',
        w.reviewed_by.join(', ') || '—',
      ]),
    },
    daily: {
      head: ['day', 'whitelisted', 'approved', 'denied', 'timed out', 'pending'],
      rows: d.daily.map((x) => [x.day, x.whitelisted, x.approved, x.denied, x.timed_out, x.pending]),
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Markdown

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/`/g, 'ˋ');

function mdTable({ head, rows }: Table): string {
  if (rows.length === 0) return '_none_\n';
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |\n`;
  return line(head) + line(head.map(() => '---')) + rows.map((r) => line(r.map((c) => mdCell(String(c))))).join('');
}

export function renderMarkdown(d: ReportData): string {
  const t = tables(d);
  const out: string[] = [];
  out.push(`# policy-gate evidence report\n\n`);
  const revisions = d.policy_revisions.map((r) => `\`${r.slice(0, 19)}\``).join(', ') || '—';
  out.push(
    `- Trail: \`${d.source}\`\n- Period: ${periodLine(d)}\n- Generated: ${d.generated_at}\n` +
      `- Verification: **${verifyLine(d)}**\n- Policy revisions: ${revisions}\n`,
  );
  out.push(`\n## Summary\n\n`, mdTable(t.summary));
  out.push(`\n## Reviewed before execution\n\n${executionLine(d)}\n`);
  if (d.execution_exceptions.length) out.push(`\n${mdTable(t.exceptions)}`);
  out.push(
    `\n## Blocked attempts\n\n${d.blocked.total} command(s) were denied or timed out. Top rules:\n\n`,
    mdTable(t.topRules),
  );
  out.push(`\nMost recent:\n\n`, mdTable(t.blocked));
  out.push(`\n## Anomaly flags\n\n`, mdTable(t.anomalies));
  out.push(`\n## Review latency\n\n`, mdTable(t.latency));
  out.push(
    `\n## Timeouts\n\n${d.timeouts.total} command(s) timed out without a decision and did not run.\n\n`,
    mdTable(t.timeouts),
  );
  out.push(`\n## Whitelist rules used\n\n`, mdTable(t.whitelist));
  out.push(`\n## Daily\n\n`, mdTable(t.daily));
  out.push(`\n## What this evidence supports\n\n`);
  for (const c of CONTROLS)
    out.push(
      `### ${c.framework} ${c.control}\n\n- **The trail shows:** ${c.proves}\n- **It does not show:** ${c.not}\n\n`,
    );
  out.push(
    'Every claim above rests on the trail verifying (see Verification at the top) and, for truncation, ' +
      'on checkpoints exported off the machine (`policy-gate checkpoint export`, `policy-gate verify --against`). ' +
      "Clock synchronisation, retention and the protection of reviewers' keys are the operator's.\n",
  );
  return out.join('');
}

// -------------------------------------------------------------------------------------------------
// HTML: one file, inline CSS and SVG, no scripts

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function htmlTable({ head, rows }: Table): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  const cells = (tag: string, values: readonly (string | number)[]): string =>
    values.map((v) => `<${tag}>${esc(String(v))}</${tag}>`).join('');
  return (
    `<table><thead><tr>${cells('th', head)}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${cells('td', r)}</tr>`).join('')}</tbody></table>`
  );
}

/** An inline SVG image of this size, labelled for screen readers. */
function svg(label: string, width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${label}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${body}</svg>`
  );
}

const COLORS = {
  whitelisted: '#2e7d32',
  approved: '#1565c0',
  denied: '#c62828',
  timed_out: '#ef6c00',
  pending: '#9e9e9e',
} as const;

/** Stacked bars of commands per day by decision. */
function dailyChart(d: ReportData): string {
  const days = d.daily;
  if (days.length === 0) return '';
  const width = 720;
  const height = 220;
  const pad = 36;
  const max = Math.max(...days.map((x) => x.whitelisted + x.approved + x.denied + x.timed_out + x.pending), 1);
  const bar = (width - 2 * pad) / days.length;
  const parts: string[] = [];
  days.forEach((x, i) => {
    let y = height - pad;
    for (const k of ['whitelisted', 'approved', 'denied', 'timed_out', 'pending'] as const) {
      const h = ((height - 2 * pad) * x[k]) / max;
      if (h <= 0) continue;
      y -= h;
      const x0 = (pad + i * bar + bar * 0.1).toFixed(1);
      parts.push(
        `<rect x="${x0}" y="${y.toFixed(1)}" width="${(bar * 0.8).toFixed(1)}" height="${h.toFixed(1)}" ` +
          `fill="${COLORS[k]}"><title>${esc(`${x.day} ${k}: ${x[k]}`)}</title></rect>`,
      );
    }
  });
  const labels =
    days.length <= 31
      ? days
          .map(
            (x, i) =>
              `<text x="${(pad + i * bar + bar / 2).toFixed(1)}" y="${height - pad + 14}" font-size="9" ` +
              `text-anchor="middle">${esc(x.day.slice(5))}</text>`,
          )
          .join('')
      : '';
  const legend = (Object.keys(COLORS) as (keyof typeof COLORS)[])
    .map(
      (k, i) =>
        `<rect x="${pad + i * 110}" y="6" width="10" height="10" fill="${COLORS[k]}"/>` +
        `<text x="${pad + i * 110 + 14}" y="15" font-size="11">${k.replace('_', ' ')}</text>`,
    )
    .join('');
  const axis =
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#555"/>` +
    `<text x="4" y="${pad}" font-size="10">${max}</text>`;
  return svg('commands per day by decision', width, height, `${axis}${parts.join('')}${labels}${legend}`);
}

/** p50 and p95 review latency per reviewer, as horizontal bars. */
function latencyChart(d: ReportData): string {
  if (d.latency.length === 0) return '';
  const width = 720;
  const row = 26;
  const height = 30 + row * d.latency.length;
  const left = 140;
  const max = Math.max(...d.latency.map((l) => l.p95_ms), 1);
  const scale = (v: number): number => ((width - left - 80) * v) / max;
  const bars = d.latency
    .map((l, i) => {
      const y = 20 + i * row;
      const p95 = scale(l.p95_ms);
      return (
        `<text x="${left - 8}" y="${y + 13}" font-size="11" text-anchor="end">${esc(l.reviewer)}</text>` +
        `<rect x="${left}" y="${y}" width="${p95.toFixed(1)}" height="16" fill="#90caf9">` +
        `<title>p95 ${esc(duration(l.p95_ms))}</title></rect>` +
        `<rect x="${left}" y="${y + 4}" width="${scale(l.p50_ms).toFixed(1)}" height="8" fill="#1565c0">` +
        `<title>p50 ${esc(duration(l.p50_ms))}</title></rect>` +
        `<text x="${(left + p95 + 6).toFixed(1)}" y="${y + 13}" font-size="10">` +
        `${esc(`p50 ${duration(l.p50_ms)} · p95 ${duration(l.p95_ms)}`)}</text>`
      );
    })
    .join('');
  return svg('review latency per reviewer', width, height, bars);
}

const STYLE =
  'body{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}' +
  'table{border-collapse:collapse;margin:.5em 0 1em}' +
  'th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}' +
  'td{font-variant-numeric:tabular-nums}.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}' +
  'dt{font-weight:600;float:left;width:8em}dd{margin-left:8.5em}.none{color:#777;font-style:italic}' +
  'figure{margin:1em 0}figcaption{color:#555;font-size:12px}' +
  '.control{border-left:3px solid #1565c0;padding-left:.8em}code{background:#f5f5f5;padding:0 3px}';

export function renderHtml(d: ReportData): string {
  const t = tables(d);
  const ok = d.verify?.ok === true;
  const sections: string[] = [];
  sections.push(
    `<h1>policy-gate evidence report</h1><dl><dt>Trail</dt><dd><code>${esc(d.source)}</code></dd>` +
      `<dt>Period</dt><dd>${esc(periodLine(d))}</dd><dt>Generated</dt><dd>${esc(d.generated_at)}</dd>` +
      `<dt>Verification</dt><dd class="${ok ? 'ok' : 'bad'}">${esc(verifyLine(d))}</dd></dl>`,
  );
  sections.push(
    `<h2>Summary</h2>${htmlTable(t.summary)}` +
      `<figure>${dailyChart(d)}<figcaption>Commands per day, by decision</figcaption></figure>`,
  );
  const exceptions = d.execution_exceptions.length > 0;
  sections.push(
    `<h2>Reviewed before execution</h2><p class="${exceptions ? 'bad' : 'ok'}">${esc(executionLine(d))}</p>` +
      (exceptions ? htmlTable(t.exceptions) : ''),
  );
  sections.push(
    `<h2>Blocked attempts</h2><p>${d.blocked.total} command(s) were denied or timed out.</p>` +
      `${htmlTable(t.topRules)}<h3>Most recent</h3>${htmlTable(t.blocked)}`,
  );
  sections.push(`<h2>Anomaly flags</h2>${htmlTable(t.anomalies)}`);
  sections.push(
    `<h2>Review latency</h2>${htmlTable(t.latency)}` +
      (d.latency.length
        ? `<figure>${latencyChart(d)}<figcaption>Review latency per reviewer (dark: p50, light: p95)</figcaption></figure>`
        : ''),
  );
  sections.push(
    `<h2>Timeouts</h2><p>${d.timeouts.total} command(s) timed out without a decision and did not run.</p>` +
      htmlTable(t.timeouts),
  );
  sections.push(`<h2>Whitelist rules used</h2>${htmlTable(t.whitelist)}`);
  const controls = CONTROLS.map(
    (c) =>
      `<section class="control"><h3>${esc(`${c.framework} ${c.control}`)}</h3>` +
      `<p><strong>The trail shows:</strong> ${esc(c.proves)}</p>` +
      `<p><strong>It does not show:</strong> ${esc(c.not)}</p></section>`,
  ).join('');
  sections.push(
    `<h2>What this evidence supports</h2>${controls}<p>Every claim rests on the trail verifying and, ` +
      'for truncation, on checkpoints exported off the machine. Clock synchronisation, retention and ' +
      "the protection of reviewers' keys are the operator's.</p>",
  );
  return (
    '<!doctype html>\n' +
    '<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>policy-gate evidence report</title>\n' +
    `<style>${STYLE}</style>\n` +
    '</head><body>\n' +
    `${sections.join('\n')}\n` +
    '</body></html>\n'
  );
}
