/** The provenance of a whitelist rule as recorded with a decision. */
export interface ProvenanceEntry {
  readonly rule_id: string;
  readonly file: string;
  readonly commit: string | null;
  readonly author: string | null;
  readonly committed_at: string | null;
  readonly reviewed_by: readonly string[];
  readonly reviewed_at: string | null;
  readonly merge_commit: string | null;
  readonly merged_by: string | null;
}
