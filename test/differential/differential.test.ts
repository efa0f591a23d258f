/**
 * Bash as the oracle: generated commands run in real bash (sandboxed, every program a stub) and
 * what bash executed, read from its xtrace, must agree with the IR's segments (compare.ts).
 *
 * Environment:
 *   DIFF_CASES=10000   generated cases per run
 *   DIFF_SEED=n        replay a run (the seed is printed; by default a new one each run)
 *   DIFF_REPORT=1      do not fail: print every divergence class with a shrunk example
 *   DIFF_REPORT_FILE=p also write that report to a file
 *   DIFF_SKIP=cond,arith,forVar,assignments,unexecuted   switch checks off while the IR catches up
 *   DIFF_SHRINK=500    oracle runs allowed for shrinking one failure (150 per class in a report)
 *   DIFF_JOBS=2        sandboxes running at once
 *
 * Pass: no divergence, at most 1% of the cases refused and a handful where bash did not finish. A command the IR reports unreadable
 * (parse-error, missing-token) is never whitelisted and claims nothing, so it is a refusal, not a
 * divergence; refusals are counted and bounded so that refusing stays the exception.
 *
 * A failure prints the minimal command as an entry for regressions.txt, which runs first.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScript } from '../../engine/index.js';
import { checksFromEnv, compareCase, irOf, type Divergence } from './compare.js';
import { caseArb, STUBS, type Case } from './generator.js';
import { bwrapMissing, checkSandbox, Oracle } from './oracle.js';
import { formatRegression, readRegressions } from './regressions.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REGRESSIONS = join(HERE, 'regressions.txt');
const CASES = Number(process.env.DIFF_CASES ?? 10_000);
const SEED = process.env.DIFF_SEED
  ? Number(process.env.DIFF_SEED)
  : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
const REPORT = !!process.env.DIFF_REPORT && process.env.DIFF_REPORT !== '0';
// a report shrinks one example per class: a smaller budget each keeps it to a few minutes
const SHRINK_BUDGET = Number(process.env.DIFF_SHRINK ?? (REPORT ? 150 : 500));
const CHECKS = checksFromEnv();

// only a missing bwrap skips the test; a bwrap that cannot build the sandbox fails it
const unavailable = bwrapMissing();
if (unavailable) console.warn(`differential test skipped: ${unavailable}. CI installs bubblewrap (.ci/run).`);
const suite = unavailable ? describe.skip : describe;

/** At most this share of generated commands may be refused as unreadable by the IR. */
const MAX_REFUSALS = 0.01;
const refusalClass = (cls: string): boolean => cls.endsWith('[IR parse-error]');
/** Generated commands bash may not finish (a generator artefact, not the IR's): a handful. */
const MAX_TIMEOUTS = 5;

const keyOf = (c: { source: string; guaranteed: readonly number[] }): string =>
  `${c.guaranteed.join(',')}\u0000${c.source}`;

suite(unavailable ? `bash as the oracle (skipped: ${unavailable})` : 'bash as the oracle', () => {
  let oracle: Oracle;
  beforeAll(() => {
    checkSandbox();
    oracle = new Oracle({ stubs: STUBS, ...(process.env.DIFF_JOBS ? { jobs: Number(process.env.DIFF_JOBS) } : {}) });
  });
  afterAll(() => oracle?.close());

  /** Oracle and IR for many cases; parsing overlaps with the sandboxes running. */
  async function evaluate(
    cases: readonly { source: string; guaranteed: readonly number[] }[],
  ): Promise<Divergence[][]> {
    const running = oracle.run(cases.map((c) => c.source));
    const scripts: ReturnType<typeof irOf>[] = [];
    for (const c of cases) {
      scripts.push(irOf(c.source, parseScript));
      // let finished sandboxes hand over to the next batch while parsing goes on
      if (scripts.length % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await running;
    return cases.map((c, i) => compareCase(c.source, c.guaranteed, scripts[i]!, results[i]!, CHECKS));
  }

  /**
   * fast-check replays the sample at `index` (same seed, same values) and shrinks it while
   * `failing` holds; values already evaluated come from `cache`, new ones run in the sandbox
   * until the budget is spent (then they count as passing, which ends the shrinking).
   */
  async function shrink(
    index: number,
    cache: Map<string, Divergence[]>,
    failing: (ds: Divergence[]) => boolean,
  ): Promise<{ c: Case; ds: Divergence[] } | null> {
    let spent = 0;
    const details = await fc.check(
      fc.asyncProperty(caseArb, async (c) => {
        let ds = cache.get(keyOf(c));
        if (ds === undefined) {
          if (spent >= SHRINK_BUDGET) return true;
          spent++;
          ds = (await evaluate([c]))[0]!;
          cache.set(keyOf(c), ds);
        }
        return !failing(ds);
      }),
      { seed: SEED, path: String(index), numRuns: CASES },
    );
    const c = details.counterexample?.[0];
    return c ? { c, ds: cache.get(keyOf(c)) ?? [] } : null;
  }

  it('regressions.txt', async () => {
    const entries = readRegressions(REGRESSIONS);
    if (entries.length === 0) return;
    const results = await evaluate(entries);
    // an entry the IR refuses as unreadable is held whole, which is sound
    const failures = entries.flatMap((e, i) =>
      results[i]!.some((d) => !refusalClass(d.cls)) ? [{ e, ds: results[i]! }] : [],
    );
    const text = failures
      .map(
        ({ e, ds }) =>
          `regressions.txt:${e.line}${e.note ? ` (${e.note})` : ''}\n${indent(e.source)}\n` +
          `${ds.map((d) => `  - [${d.cls}] ${d.message}`).join('\n')}`,
      )
      .join('\n\n');
    if (REPORT) {
      console.log(`regressions: ${failures.length} of ${entries.length} diverge\n\n${text}`);
      return;
    }
    expect(failures.length, `${failures.length} of ${entries.length} regression(s) diverge:\n\n${text}`).toBe(0);
  }, 120_000);

  it(
    `${CASES} generated commands`,
    async () => {
      console.log(`differential: seed ${SEED} (replay with DIFF_SEED=${SEED}), ${CASES} cases`);
      const started = Date.now();
      const samples = fc.sample(caseArb, { seed: SEED, numRuns: CASES });
      const results = await evaluate(samples);
      console.log(
        `differential: ${CASES} cases through bash and the IR in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      const cache = new Map<string, Divergence[]>();
      samples.forEach((s, i) => cache.set(keyOf(s), results[i]!));

      const byClass = new Map<string, { count: number; first: number }>();
      results.forEach((ds, i) => {
        for (const cls of new Set(ds.map((d) => d.cls))) {
          const entry = byClass.get(cls) ?? { count: 0, first: i };
          entry.count++;
          byClass.set(cls, entry);
        }
      });
      // a command the IR reports unreadable (parse-error, missing-token) is held for a human whole
      // and claims nothing: it is a refusal, not a divergence, but refusals must stay rare
      const isRefusal = (ds: readonly Divergence[]): boolean => ds.length > 0 && ds.every((d) => refusalClass(d.cls));
      // bash that never finishes (`. >(a)` reads a pipe it holds open itself) judges nothing
      const isTimeout = (ds: readonly Divergence[]): boolean => ds.length > 0 && ds.every((d) => d.kind === 'timeout');
      const refused = results.filter(isRefusal).length;
      const timeouts = results.filter(isTimeout).length;
      const failing = results.filter((ds) => ds.length > 0 && !isRefusal(ds) && !isTimeout(ds)).length;
      const refusalRate = refused / CASES;
      console.log(
        `differential: ${failing} divergence(s); ${refused} case(s) refused by the IR as unreadable ` +
          `(${(refusalRate * 100).toFixed(2)}%, at most ${MAX_REFUSALS * 100}%); ` +
          `${timeouts} where bash did not finish (at most ${MAX_TIMEOUTS})`,
      );
      // misreadings the IR did not notice first; then the ones in commands it flagged as unreadable
      const unread = (cls: string): number => (refusalClass(cls) ? 1 : 0);
      const classes = [...byClass].sort((a, b) => unread(a[0]) - unread(b[0]) || b[1].count - a[1].count);
      const summary = classes.map(([cls, { count }]) => `  ${String(count).padStart(6)}  ${cls}`).join('\n');
      if (failing === 0 && (REPORT || (refusalRate <= MAX_REFUSALS && timeouts <= MAX_TIMEOUTS))) return;

      if (REPORT) {
        const sections: string[] = [];
        for (const [cls, { count, first }] of classes) {
          const min = (await shrink(first, cache, (ds) => ds.some((d) => d.cls === cls))) ?? {
            c: samples[first]!,
            ds: results[first]!,
          };
          const d = min.ds.find((x) => x.cls === cls) ?? min.ds[0];
          sections.push(
            `## ${cls} (${count} case(s))\n${d?.message ?? ''}\n${formatRegression(min.c.source, min.c.guaranteed, cls)}`,
          );
        }
        const report = `differential report, seed ${SEED}: ${failing} of ${CASES} cases diverge\n\n${summary}\n\n${sections.join('\n')}`;
        console.log(report);
        if (process.env.DIFF_REPORT_FILE) writeFileSync(process.env.DIFF_REPORT_FILE, report);
        return;
      }

      // a divergence first; else (too many refusals) the first refusal
      const wanted =
        failing > 0
          ? (ds: Divergence[]) => ds.length > 0 && !isRefusal(ds) && !isTimeout(ds)
          : (ds: Divergence[]) => ds.length > 0;
      const first = results.findIndex(wanted);
      const min = (await shrink(first, cache, wanted)) ?? { c: samples[first]!, ds: results[first]! };
      const message = [
        failing > 0
          ? `${failing} of ${CASES} generated commands diverge from bash (seed ${SEED}; DIFF_REPORT=1 lists every class).`
          : `${refused} of ${CASES} generated commands refused as unreadable (at most ${MAX_REFUSALS * 100}%), ` +
            `${timeouts} where bash did not finish (at most ${MAX_TIMEOUTS}) (seed ${SEED}; DIFF_REPORT=1 lists every class).`,
        summary,
        '',
        'Minimal failing command; add it to test/differential/regressions.txt:',
        '',
        formatRegression(min.c.source, min.c.guaranteed, min.ds[0]?.cls ?? ''),
        ...min.ds.map((d) => `  - [${d.cls}] ${d.message}`),
      ].join('\n');
      expect.fail(message);
    },
    30 * 60_000,
  );
});

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
