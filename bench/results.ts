/**
 * The bench's figures as data: sections of rows, each section with the baseline its figures are
 * read against, printed as a table and written to bench/results/ as JSON and markdown. A module
 * that measures elsewhere (through the server) adds its rows to an existing section by id:
 *
 *   results.section('durable').add({ agents: 16, 'through the server /s': 5100 });
 *
 * and a column it fills that the section does not have yet is appended to it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export type Cell = string | number | null;
export type Row = Readonly<Record<string, Cell>>;

export interface SectionSpec {
  /** Stable id other modules add rows by: 'startup', 'assessment', 'durable', 'verify', 'review'. */
  readonly id: string;
  readonly title: string;
  /** What the figures are measured against, in words (the baseline's own row is in the table). */
  readonly baseline: string;
  readonly columns: readonly string[];
  /** The target the issue sets, when there is one. */
  readonly target?: string;
}

export class Section {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly columns: string[];

  constructor(readonly spec: SectionSpec) {
    this.columns = [...spec.columns];
  }

  /** Add a row; cells of columns the section lacks add those columns (in the order first seen). */
  add(row: Row): this {
    for (const key of Object.keys(row)) if (!this.columns.includes(key)) this.columns.push(key);
    this.rows.push(row);
    return this;
  }

  /** Fill cells of the first row whose `key` cell equals `value` (e.g. a through-server column). */
  fill(key: string, value: Cell, cells: Row): this {
    const row = this.rows.find((r) => r[key] === value);
    if (!row) return this.add({ [key]: value, ...cells });
    for (const k of Object.keys(cells)) if (!this.columns.includes(k)) this.columns.push(k);
    this.rows[this.rows.indexOf(row)] = { ...row, ...cells };
    return this;
  }

  note(text: string): this {
    this.notes.push(text);
    return this;
  }
}

export class BenchResults {
  private readonly sections: Section[] = [];
  readonly startedAt = new Date();

  /** The sections' ids, in the order they were created. */
  ids(): string[] {
    return this.sections.map((x) => x.spec.id);
  }

  has(id: string): boolean {
    return this.sections.some((x) => x.spec.id === id);
  }

  /** The section with this id (created from `spec` the first time). */
  section(id: string, spec?: Omit<SectionSpec, 'id'>): Section {
    let s = this.sections.find((x) => x.spec.id === id);
    if (!s) {
      if (!spec) throw new Error(`bench: no section ${id} (known: ${this.sections.map((x) => x.spec.id).join(', ')})`);
      s = new Section({ id, ...spec });
      this.sections.push(s);
    }
    return s;
  }

  /** Print one section as a table (as soon as it is measured). */
  print(id: string): void {
    const s = this.section(id);
    console.log(`\n${s.spec.title}`);
    console.log(`  baseline: ${s.spec.baseline}${s.spec.target ? `   target: ${s.spec.target}` : ''}`);
    const cells = s.rows.map((r) => s.columns.map((c) => format(r[c])));
    const widths = s.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
    const line = (xs: string[]): string =>
      '  ' + xs.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
    console.log(line(s.columns));
    for (const r of cells) console.log(line(r));
    for (const n of s.notes) console.log(`  ${n}`);
  }

  machine(): Record<string, Cell> {
    return {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? null,
      load_1m: Math.round(loadavg()[0]! * 100) / 100,
      date: this.startedAt.toISOString(),
      ca_certs: process.env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS set' : 'none',
    };
  }

  json(): string {
    return JSON.stringify(
      {
        machine: this.machine(),
        sections: this.sections.map((s) => ({ ...s.spec, columns: s.columns, rows: s.rows, notes: s.notes })),
      },
      null,
      2,
    );
  }

  markdown(): string {
    const m = this.machine();
    const out = [
      '# policy-gate bench results',
      '',
      `${m.date}: Node ${m.node}, ${m.cpus} × ${m.cpu}, load ${m.load_1m}, extra CA certificates: ${m.ca_certs}.`,
      'Written by `npm run bench`; every figure comes from this one run, with its baseline.',
    ];
    for (const s of this.sections) {
      out.push(
        '',
        `## ${s.spec.title}`,
        '',
        `Baseline: ${s.spec.baseline}.${s.spec.target ? ` Target: ${s.spec.target}.` : ''}`,
      );
      out.push(
        '',
        `| ${s.columns.join(' | ')} |`,
        `|${s.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
      );
      for (const r of s.rows) out.push(`| ${s.columns.map((c) => format(r[c])).join(' | ')} |`);
      if (s.notes.length > 0) out.push('', ...s.notes.map((n) => `- ${n}`));
    }
    return out.join('\n') + '\n';
  }

  /** Write `latest.json` and `latest.md` to `dir`. */
  write(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'latest.json'), this.json() + '\n');
    writeFileSync(join(dir, 'latest.md'), this.markdown());
  }
}

function format(v: Cell | undefined): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

// ---- measuring ---------------------------------------------------------------------------------

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(xs: readonly number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** Rounded to `digits` significant decimals, for the JSON (the tables format on their own). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
