/** The human view of a verification of the audit trail. */
import type { VerifyResult } from '../../engine/index.js';
import type { Style } from './style.js';

/**
 * VERIFIED with what was checked, or FAILED with the first failure. `unanchored`: neither a
 * witness nor --against was there to catch a truncation re-signed with the gate's key.
 */
export function renderVerify(s: Style, result: VerifyResult, options: { unanchored: boolean }): string {
  const out: string[] = [];
  if (result.ok) {
    out.push(
      `${s.green(s.bold('VERIFIED'))}  ${result.events} events, ${result.commands} commands, ` +
        `${result.checkpoints} signed checkpoints, ${result.recordings} recordings\n`,
    );
    if (result.head !== null) out.push(s.dim(`  chain head ${result.head} (after event #${result.events})\n`));
    if (result.unsigned_tail > 0)
      out.push(
        s.dim(
          `  ${result.unsigned_tail} newest event(s) after the last checkpoint are hash-chained but not yet signed\n`,
        ),
      );
    for (const w of result.witnesses)
      out.push(
        `  witness ${w.name}: the trail extends its ${w.checkpoints} checkpoint(s), the newest of size ${w.size}\n`,
      );
    if (options.unanchored)
      out.push(
        s.dim(
          '  no witness and no --against: truncation re-signed with the gate key would go unnoticed; ' +
            'configure witnesses in gate.yaml (or keep checkpoints elsewhere: policy-gate checkpoint export)\n',
        ),
      );
  } else {
    const f = result.failure!;
    out.push(`${s.red(s.bold('FAILED'))}  ${f.check}${f.seq !== null ? ` at event #${f.seq}` : ''}: ${f.message}\n`);
  }
  for (const w of result.warnings) out.push(s.dim(`  note: ${w}\n`));
  return out.join('');
}
