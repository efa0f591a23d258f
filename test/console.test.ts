/**
 * The web console in a real browser: headless Chromium (Debian's, through playwright-core; no
 * browser download) against a real `policy-gate serve` process on a temporary SQLite store.
 * WebAuthn runs on Chromium's virtual authenticator (CDP), so registering a passkey and signing
 * a decision with it are the real ceremonies. Screenshots go to test-artifacts/console/.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, baseEnv, runBin, tempDir, waitFor } from './helpers.js';
import { ALICE, reviewPolicyDir } from './review-fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const UI_TIMEOUT = 60_000;

interface Server {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  stderr: string;
}

const work = tempDir('policy-gate-console-');
const cwd = join(work, 'project');
mkdirSync(cwd, { recursive: true });
const store = join(work, 'state', 'audit.db');
const policy = reviewPolicyDir([ALICE, { id: 'dave' }], { 'timeouts.default': 600 });
const where = ['--store', store, '--policy', policy];

let server: Server;
let browser: Browser;
const tokens: Record<string, string> = {};
/** Alice's console, kept from test to test: her passkey lives in its virtual authenticator. */
let alice: { context: BrowserContext; page: Page; errors: string[] };

async function createToken(name: string, role: string): Promise<string> {
  const out = await runBin(['serve', 'token', 'create', '--name', name, '--role', role, ...where], { cwd });
  expect(out.code, out.stderr).toBe(0);
  return /pgt_[A-Za-z0-9_-]+/.exec(out.stdout)![0];
}

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-socket', '--log-level', 'warn', ...where], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...baseEnv(cwd) },
  });
  const s = { child, port: 0, stderr: '' };
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (s.stderr += d.toString()));
  s.port = await waitFor('serve to listen', () => {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${s.stderr}`);
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stdout);
    return m ? Number(m[1]) : null;
  });
  return s;
}

/** The API as an agent or a reviewer would call it (loopback, by IP: the host check allows it). */
async function api<T>(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A `policy-gate check` through the server (the thin client), waiting for a reviewer as an agent's would. */
function waitingCheck(command: string, session: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const server_ = ['--server', `http://127.0.0.1:${server.port}`, '--token', tokens.agent!];
  const args = ['check', ...server_, '--session', session, '--agent', 'claude-code', '--intent', 'publish the build'];
  return runBin([...args, '--cwd', cwd, '--timeout', '600', '--', command], { cwd });
}

/** A page signed in with a token, with a virtual passkey authenticator of its own. */
async function consolePage(token: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  // localhost, not 127.0.0.1: an IP address is never a WebAuthn relying party
  await page.goto(`http://localhost:${server.port}/ui/#token=${token}`);
  await page.waitForSelector('body[data-ready]');
  return { context, page, errors };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

describe.skipIf(!existsSync(CHROMIUM))('web console (headless Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tokens.alice = await createToken('alice', 'reviewer');
    tokens.dave = await createToken('dave', 'reviewer');
    tokens.agent = await createToken('claude-code', 'agent');
    tokens.auditor = await createToken('carol', 'auditor');
    server = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await waitFor('serve to stop', () => server.child.exitCode !== null || server.child.signalCode !== null);
    }
  });

  it('serves the console: its own CSP, ETags, no prototype lookups, redirects', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const index = await fetch(`${base}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const etag = index.headers.get('etag')!;
    expect((await fetch(`${base}/ui/index.html`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${base}/ui/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/ui/constructor`)).status).toBe(404);
    expect((await fetch(`${base}/ui/__proto__`)).status).toBe(404);
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBeGreaterThanOrEqual(300);
    expect(root.headers.get('location')).toBe('/ui/');
    expect((await fetch(`${base}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(204);
  });

  it('the whole loop: queued with its hits, approved with a passkey, the waiting check runs, the trail shows it signed', async () => {
    expect((await waitingCheck('git status', 'sess-1')).code).toBe(0); // whitelisted: the session's history
    const check = waitingCheck('rm -rf ./build && git push --force origin main', 'sess-1');
    alice = await consolePage(tokens.alice!);
    const { page, errors } = alice;
    expect(page.url()).not.toContain('token='); // the fragment is gone from the address bar and history

    const item = await page.waitForSelector('#queue-list li[data-id]');
    const id = (await item.getAttribute('data-id'))!;
    expect(await item.textContent()).toContain('rm -rf ./build');
    const detail = page.locator('#queue-detail');
    await detail.locator('mark.hit').first().waitFor();
    const rules = await detail.locator('mark.hit').evaluateAll((ms) => ms.map((m) => m.getAttribute('data-rules')));
    expect(rules.join(' ')).toContain('destruction.rm-recursive');
    expect(rules.join(' ')).toContain('destruction.git-force-push');
    expect(await detail.locator('mark.hit').first().textContent()).toBe('rm -rf ./build');
    expect(await detail.locator('table.segments').textContent()).toContain('no whitelist rule covers it');
    expect(await detail.textContent()).toMatch(/approvals 0\/1/);
    expect(await detail.textContent()).toMatch(/\d+m \d+s left/);
    expect(await detail.locator('ol.history').textContent()).toContain('git status');
    expect(await detail.textContent()).toContain('publish the build');
    await detail.locator('mark.hit').first().hover();
    await shot(page, 'queue');

    // no passkey yet: the console says so rather than sending an unsigned decision
    await page.keyboard.press('a');
    await page.waitForSelector('#decide-error:has-text("register a passkey")');

    await page.keyboard.press('p');
    await page.click('#register');
    await page.waitForSelector('#passkey-list li code');
    await shot(page, 'passkeys');

    await page.keyboard.press('q');
    await page.waitForSelector(`#queue-list li[data-id="${id}"][aria-selected="true"]`);
    await page.keyboard.press('a');
    const ran = await check;
    expect(ran.code, ran.stderr).toBe(0);
    await page.waitForSelector('#queue-list li.empty');

    await page.goto(`http://localhost:${server.port}/ui/#/audit/${id}`);
    await page.waitForSelector('#decided-by:has-text("alice")');
    expect(await page.textContent('#latency')).toMatch(/\d/);
    await page.waitForSelector('.sig-status:has-text("signature verified")');
    expect(await page.textContent('table.signatures')).toContain('webauthn');
    await page.waitForSelector('#verify-badge.verify-ok');
    await page.waitForSelector('#charts svg rect.bar');
    await page.waitForSelector(`#audit-rows tr[data-id="${id}"]`);
    await shot(page, 'audit');

    await page.click('a[href="#/session/sess-1"]');
    await page.waitForSelector('#timeline li:nth-child(2)');
    expect(await page.textContent('#timeline')).toContain('git status');
    await shot(page, 'session');
    expect(errors).toEqual([]);
  });

  it('keyboard: j/k move through the queue, / filters, d asks for a reason and denies with it', async () => {
    const submit = (command: string, wait: boolean) =>
      api<{ record: { command_id: string; decision: string; reason: string | null }; outcome: string }>(
        tokens.agent!,
        'POST',
        '/v1/commands',
        { command, session_id: 'sess-2', agent: 'claude-code', cwd, wait },
      );
    const other = await submit('git push --force origin feature', false);
    expect(other.body.outcome).toBe('pending');
    const denied = (await submit('sudo systemctl restart nginx', false)).body.record.command_id;
    alice ??= await consolePage(tokens.alice!); // run alone (-t keyboard): deciding then needs her passkey first
    const { page, errors } = alice;
    await page.goto(`http://localhost:${server.port}/ui/#/queue`);
    await page.waitForSelector('#queue-list li[data-id] >> nth=1');
    const selected = () => page.getAttribute('#queue-list li[aria-selected="true"]', 'data-id');
    const first = await selected();
    await page.keyboard.press('j');
    await waitFor('j to move', async () => (await selected()) !== first);
    await page.keyboard.press('k');
    await waitFor('k to move back', async () => (await selected()) === first);

    await page.keyboard.press('/');
    await page.keyboard.type('systemctl');
    await waitFor('the filter to keep one', async () =>
      /^1 of \d+ pending$/.test((await page.textContent('#queue-count')) ?? ''),
    );
    await page.keyboard.press('Escape');
    await page.waitForSelector('#queue-detail pre.command:has-text("sudo systemctl")');
    await page.keyboard.press('d');
    await page.waitForSelector('#reason:focus');
    await page.keyboard.type('not on a production host');
    await page.keyboard.press('Enter');
    const out = await waitFor(
      'the deny to be recorded',
      async () => {
        const got = await api<{ record: { decision: string; reason: string | null } }>(
          tokens.agent!,
          'GET',
          `/v1/commands/${denied}`,
        );
        return got.body.record.decision !== 'pending' && got.body.record;
      },
      UI_TIMEOUT,
      200,
    );
    expect(out.decision).toBe('denied');
    expect(out.reason).toBe('not on a production host');
    await page.fill('#queue-filter', '');
    await page.waitForSelector('#queue-count:has-text("1 pending")');
    expect(errors).toEqual([]);
    await alice.context.close();
    // left pending for the next test
    expect(
      (
        await api<{ record: { decision: string } }>(
          tokens.alice!,
          'GET',
          `/v1/commands/${other.body.record.command_id}`,
        )
      ).body.record.decision,
    ).toBe('pending');
  });

  it('a reviewer without a passkey cannot decide on the token alone when gate.yaml does not allow it', async () => {
    const { page, context } = await consolePage(tokens.dave!);
    const item = await page.waitForSelector('#queue-list li[data-id]');
    const id = (await item.getAttribute('data-id'))!;
    expect(await page.textContent('#how')).toContain('register a passkey');
    await page.keyboard.press('a');
    await page.waitForSelector('#decide-error:has-text("register a passkey")');
    await shot(page, 'no-passkey');
    await context.close();
    // and the API refuses the same decision sent without the console
    const st = await api<{ statement: string }>(tokens.dave!, 'POST', `/v1/commands/${id}/statement`, {
      decision: 'approve',
    });
    expect(st.status).toBe(200);
    const refused = await api<{ error: { code: string } }>(tokens.dave!, 'POST', `/v1/commands/${id}/decision`, {
      statement: st.body.statement,
      proof: { kind: 'token' },
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(
      (await api<{ record: { decision: string } }>(tokens.dave!, 'GET', `/v1/commands/${id}`)).body.record.decision,
    ).toBe('pending');
  });

  it('an auditor plays a recording in the asciinema player and sees the trail verified', async () => {
    const run = await runBin(['exec', ...where, '--session', 'sess-3', '--', 'printf', 'hello from the recording\\n'], {
      cwd,
    });
    expect(run.code, run.stderr).toBe(0);
    const { page, context, errors } = await consolePage(tokens.auditor!);
    await page.waitForSelector('#verify-badge.verify-ok');
    await page.click('#audit-rows tr:has-text("hello from the recording")');
    await page.click('#play');
    await page.waitForSelector('#player :text("hello from the recording")');
    await shot(page, 'recording');
    expect(errors).toEqual([]);
    await context.close();
  });
});
