/** A signal: one reason a command is risky (a rule hit or a context signal), as recorded. */
export const CATEGORIES = [
  'destruction',
  'exfiltration',
  'remote-exec',
  'reverse-shell',
  'persistence',
  'privilege',
  'credentials',
  'evasion',
  'tampering',
  'network',
  'recon',
  'parser',
  'context',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Signal {
  readonly rule_id: string;
  readonly category: Category;
  readonly score: number;
  readonly message: string;
  /** Index into `segments`, or null for script-level signals. */
  readonly segment: number | null;
  /** [start, end) in UTF-8 bytes of the command. */
  readonly span: readonly [number, number];
  readonly waivable: boolean;
}
