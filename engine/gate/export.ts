/**
 * The trail as evidence, for auditors: every event as stored (JSON lines, with leaf and chain
 * values), one row per command (CSV, safe to open in a spreadsheet), or a self-contained bundle
 * that `verify --bundle` checks with no store, policy or Git at hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FORMAT, bundleEvent, bundlePolicy, type Bundle } from '../audit/bundle.js';
import { trustedKeys } from '../audit/checkpoint.js';
import type { AuditStore } from '../audit/store.js';
import type { CommandRecord } from '../model/events.js';
import { policyProvider } from './policy-at.js';

export const CSV_COLUMNS = [
  'command_id',
  'submitted_at',
  'session_id',
  'agent',
  'cwd',
  'intent',
  'command',
  'risk_score',
  'risk_level',
  'top_rules',
  'decision',
  'decided_by',
  'decided_at',
  'review_latency_ms',
  'reason',
  'policy_revision',
  'started_at',
  'ended_at',
  'exit_code',
  'recording_sha256',
] as const;

function csvField(v: unknown): string {
  const text = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(text) || /^[=+\-@\t]/.test(text)
    ? `"${(/^[=+\-@\t]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`
    : text;
}

export interface ExportOptions {
  readonly format: 'jsonl' | 'csv';
  /** ISO time: only what happened at or after it. */
  readonly from?: string | undefined;
  /** ISO time: only what happened before it. */
  readonly to?: string | undefined;
}

/** The trail (or the part of it in [from, to)) as JSON lines of events, or CSV rows of commands. */
export async function exportTrail(store: AuditStore, options: ExportOptions): Promise<string> {
  const { from, to } = options;
  const inRange = (at: string): boolean => (from === undefined || at >= from) && (to === undefined || at < to);
  return store.snapshot(async (reader) => {
    if (options.format === 'jsonl') {
      const lines: string[] = [];
      for await (const e of reader.rawEvents()) {
        if (!inRange(e.at)) continue;
        lines.push(
          `{"seq":${e.seq},"type":${JSON.stringify(e.type)},"command_id":${JSON.stringify(e.command_id)},` +
            `"at":${JSON.stringify(e.at)},"leaf":"${e.leaf.toString('hex')}","chain":"${e.chain.toString('hex')}",` +
            `"body":${e.bytes.toString('utf8')}}`,
        );
      }
      return lines.length ? `${lines.join('\n')}\n` : '';
    } else {
      const rows = (await reader.commands()).filter((r) => inRange(r.submitted_at));
      const line = (r: CommandRecord): string =>
        [
          r.command_id,
          r.submitted_at,
          r.session_id,
          r.agent,
          r.cwd,
          r.intent,
          r.command,
          r.risk_score,
          r.risk_level,
          r.signals
            .slice(0, 3)
            .map((x) => x.rule_id)
            .join(' '),
          r.decision,
          r.decided_by,
          r.decided_at,
          r.review_latency_ms,
          r.reason,
          r.policy_revision,
          r.execution?.started_at,
          r.execution?.ended_at,
          r.execution?.exit_code,
          r.execution?.recording?.sha256,
        ]
          .map(csvField)
          .join(',');
      return `${[CSV_COLUMNS.join(','), ...rows.map(line)].join('\r\n')}\r\n`;
    }
  });
}

/**
 * The whole trail as an evidence bundle: every event as stored, every checkpoint, the trusted
 * keys of the state directory, what the policy said at each recorded revision, the recordings.
 * The caller signs a checkpoint covering all of it first.
 */
export async function exportBundle(store: AuditStore, policyDir: string, stateDir: string): Promise<Bundle> {
  const provider = await (await policyProvider(policyDir))(await store.policyRevisions());
  return store.snapshot(async (reader) => {
    const policies: Bundle['policies'] = {};
    for (const revision of await reader.policyRevisions()) {
      const at = provider(revision);
      if (at) (policies as Record<string, Bundle['policies'][string]>)[revision] = bundlePolicy(at);
    }
    const recordings: Record<string, string> = {};
    for (const r of await reader.commands()) {
      const rec = r.execution?.recording;
      if (!rec) continue;
      try {
        recordings[rec.path] = readFileSync(join(stateDir, rec.path)).toString('base64');
      } catch {
        /* a missing recording is for verify to report */
      }
    }
    const events: Bundle['events'][number][] = [];
    for await (const e of reader.rawEvents()) events.push(bundleEvent(e));
    return {
      format: BUNDLE_FORMAT,
      created_at: new Date().toISOString(),
      events,
      checkpoints: (await reader.checkpoints()).map((c) => c.note),
      keys: trustedKeys(stateDir).map((k) => k.text),
      policies,
      recordings,
    };
  });
}
