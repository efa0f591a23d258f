/** The segments of a command as recorded: what bash would execute, one entry per command. */
export interface SegmentReport {
  readonly argv: string[];
  readonly program: string | null;
  readonly dynamic: boolean;
  readonly covered_by: string | null;
  readonly via: string;
  readonly parent: number | null;
  readonly wrappers: string[];
  readonly privileged: boolean;
  readonly span: readonly [number, number];
}
