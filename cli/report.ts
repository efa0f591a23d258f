import { writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  ExitCode,
  buildReport,
  openStoreForReading,
  trustedKeys,
  usageError,
  verifyStore,
  type ReportData,
} from '../engine/index.js';
import { COMMON_OPTIONS, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations } from './context.js';
import type { CliIo } from './io.js';
import { renderHtml, renderMarkdown } from './render/report.js';

const HELP = `Usage: policy-gate report [--from DATE] [--to DATE] [--format md|html] [--out FILE]

An evidence report over the audit trail (default: all of it): commands by decision; the share
of executed commands that were reviewed or whitelisted before they ran (every exception is
listed); blocked attempts and their top rules; anomaly flags (off-hours, bursts, novelty) and
whether a human reviewed them; review latency p50/p95/max per reviewer; timeouts; whitelist
rules used with their review provenance; the verify result; and what the trail proves, and
does not, for SOC 2 CC6.3 and CC7.2, ISO/IEC 27001:2022 8.15 and 8.16, HIPAA §164.312(b) and
PCI DSS v4.0 10.2.1, 10.2.2, 10.3.2–10.3.4 and 10.5.1.

The HTML report is one self-contained file (inline CSS and SVG charts, no scripts, no network).

Options:
  --from DATE       only commands submitted at or after this ISO 8601 date or time
  --to DATE         only commands submitted before it
  --format F        md (default) or html
  --out FILE        write there instead of stdout
  --store STORE     audit store: a file, sqlite:PATH or postgres://… (env POLICY_GATE_STORE;
                    default: gate.yaml store:, the nearest .policy-gate/ here or above,
                    else ~/.policy-gate/audit.db)
  --policy DIR      the policy, to check decisions against (env POLICY_GATE_POLICY)
  -h, --help        show this help

Exit codes: 0 written (also when the trail does not verify: the report says so) · 2 usage
error or unreadable store
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  now: { type: 'string' },
} as const;

export const command = defineCommand({ name: 'report', help: HELP, options: OPTIONS, run });

async function run(p: Parsed, io: CliIo): Promise<number> {
  const format = str(p, 'format') ?? 'md';
  if (format !== 'md' && format !== 'html')
    throw usageError(`--format must be md or html, got ${JSON.stringify(format)}`);
  const from = parseTime(str(p, 'from'), '--from')?.toISOString() ?? null;
  const to = parseTime(str(p, 'to'), '--to')?.toISOString() ?? null;
  const generatedAt = (parseTime(str(p, 'now'), '--now') ?? new Date()).toISOString();
  const loc = locations(p, io);
  const store = await openStoreForReading(loc);
  let data: ReportData;
  try {
    const verify = await verifyStore(store, loc.policy, { keys: trustedKeys(loc.state), stateDir: loc.state });
    data = buildReport({ records: await store.commands(), verify, from, to, generatedAt, source: loc.store });
  } finally {
    await store.close();
  }
  const text = format === 'md' ? renderMarkdown(data) : renderHtml(data);
  const out = str(p, 'out');
  if (out === undefined || out === '-') io.stdout.write(text);
  else {
    try {
      writeFileSync(isAbsolute(out) ? out : join(io.cwd, out), text, { mode: 0o600 });
    } catch (err) {
      throw usageError(`cannot write ${out}: ${(err as Error).message}`);
    }
    io.stderr.write(`policy-gate: report written to ${out}\n`);
  }
  return ExitCode.Allowed;
}
