/** A whitelist rule that matched a segment but may not be used (review enforcement). */
export interface Refusal {
  readonly rule_id: string;
  readonly segment: number;
  readonly reason: string;
}
