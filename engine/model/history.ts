/** What the store tells the scorer about a session so far (burst and novelty signals). */
export interface SessionHistory {
  /** Commands submitted in this session within the burst window before now. */
  readonly recentCount: number;
  /** Programs this session ran before. */
  readonly programs: ReadonlySet<string>;
  /** Commands submitted in this session before now. */
  readonly total: number;
}
