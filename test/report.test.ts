/**
 * The evidence report: golden files on a seeded trail (set UPDATE_GOLDEN=1 to rewrite them after
 * an intended change, and review the diff), and the HTML being one self-contained file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, openSqliteStore, verifyTrail, type ReportData } from '../engine/index.js';
import { renderHtml, renderMarkdown } from '../cli/render/report.js';
import { ROOT, runBin } from './helpers.js';
import { T0, seedTrail, type SeededTrail } from './trail-fixture.js';

let trail: SeededTrail;
let data: ReportData;

beforeAll(async () => {
  trail = await seedTrail(120, 6);
  const store = openSqliteStore(trail.path, { readonly: true });
  const recording = (path: string): Buffer | null =>
    existsSync(join(trail.dir, path)) ? readFileSync(join(trail.dir, path)) : null;
  const verify = await verifyTrail({
    events: () => store.rawEvents(),
    checkpoints: (await store.checkpoints()).map((c) => c.note),
    keys: [trail.signer],
    policyAt: () => trail.policy,
    recording,
  });
  data = buildReport({
    records: await store.commands(),
    verify,
    from: null,
    to: null,
    generatedAt: new Date(T0 + 86_400_000).toISOString(),
    source: 'seeded trail',
  });
  await store.close();
}, 60_000);

function golden(name: string, text: string): void {
  const file = join(ROOT, 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  if (!existsSync(file))
    throw new Error(`${file} is missing: run UPDATE_GOLDEN=1 npx vitest run test/report.test.ts and review it`);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

describe('report', () => {
  it('figures: every executed command was decided first; blocked, latency and whitelist use are counted', () => {
    expect(data.commands).toBe(120);
    expect(data.by_decision).toEqual({ whitelisted: 78, approved: 3, denied: 15, timed_out: 12, pending: 12 });
    expect(data).toMatchObject({ denied_by_policy: 12, denied_by_reviewer: 3 });
    expect(data.executed).toBeGreaterThan(0);
    expect(data.executed_after_decision).toBe(data.executed);
    expect(data.execution_exceptions).toEqual([]);
    expect(data.blocked.total).toBe(27);
    expect(data.latency.map((l) => l.reviewer)).toEqual(['alice', 'bob']);
    expect(data.verify?.ok).toBe(true);
  });

  it('Markdown matches the golden file', () => {
    golden('report.md', renderMarkdown(data));
  });

  it('HTML matches the golden file and is self-contained: inline CSS and SVG, no scripts, no network', () => {
    const html = renderHtml(data);
    golden('report.html', html);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(/i);
    // URLs may appear in command text, never in an attribute (the SVG namespace aside)
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/=\s*"?https?:/);
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect((html.match(/<svg /g) ?? []).length).toBe((html.match(/<\/svg>/g) ?? []).length);
    for (const framework of [
      'SOC 2',
      'CC6.3',
      'CC7.2',
      '8.15',
      '8.16',
      'A.12.4.1',
      '§164.312(b)',
      '10.2.1',
      '10.2.2',
      '10.3.2',
      '10.3.4',
      '10.5.1',
    ])
      expect(html).toContain(framework);
  });

  it('an exception is listed when a command ran without being allowed first', async () => {
    const store = openSqliteStore(trail.path, { readonly: true });
    const all = await store.commands();
    await store.close();
    const denied = all.find((r) => r.decision === 'denied')!;
    const tampered = all.map((r) =>
      r.command_id === denied.command_id
        ? {
            ...r,
            execution: {
              started_at: r.submitted_at,
              ended_at: null,
              exit_code: null,
              signal: null,
              duration_ms: null,
              recording: null,
              recording_path: 'x',
            },
          }
        : r,
    );
    const report = buildReport({
      records: tampered,
      verify: null,
      from: null,
      to: null,
      generatedAt: 'now',
      source: 'x',
    });
    expect(report.execution_exceptions).toEqual([
      expect.objectContaining({ command_id: denied.command_id, why: 'ran although denied' }),
    ]);
    expect(renderMarkdown(report)).toMatch(/1 exception\(s\) are listed below/);
  });

  it('opens in a real headless browser, which draws both charts', () => {
    const file = join(trail.dir, 'browser-report.html');
    writeFileSync(file, renderHtml(data));
    const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(
      (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0,
    );
    if (!chromium) throw new Error('no headless browser: install chromium (apt-get install -y chromium; .ci/run does)');
    const flags = [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      `--user-data-dir=${join(trail.dir, 'chromium-profile')}`,
    ];
    const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status, dom.stderr).toBe(0);
    // the DOM as the browser built it: both SVG charts, with their bars
    expect((dom.stdout.match(/<svg /g) ?? []).length).toBe(2);
    expect((dom.stdout.match(/<rect /g) ?? []).length).toBeGreaterThan(10);
    const png = join(trail.dir, 'report.png');
    const shot = spawnSync(chromium, [...flags, `--screenshot=${png}`, '--window-size=1000,1400', `file://${file}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(shot.status, shot.stderr).toBe(0);
    const image = readFileSync(png);
    expect(image.subarray(1, 4).toString()).toBe('PNG');
    expect(image.length).toBeGreaterThan(20_000);
  }, 120_000);

  it('the CLI writes the report for a real store, in both formats', async () => {
    const md = await runBin(['report', '--store', trail.path, '--from', new Date(T0).toISOString()]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^# policy-gate evidence report/);
    const out = join(trail.dir, 'report.html');
    const html = await runBin(['report', '--store', trail.path, '--format', 'html', '--out', out]);
    expect(html.code, html.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
  });
});
