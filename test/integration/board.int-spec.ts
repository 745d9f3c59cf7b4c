/**
 * The live board (`GET /`) in headless Chromium against a daemon watching the real sandbox Asterisk:
 * token prompt, node status, a real call appearing and ending, an AOR-not-found alert provoked by a
 * real REGISTER (its pjsip.conf snippet preformatted), the AOR_NAME_MISMATCH finding with its remedy,
 * contacts and device states in words updating live, "1 call" in the summary, the endpoint filter and the
 * registered/unregistered switch, the "disconnected" state once the daemon is gone, the reconnect
 * once it is back on the same port, and "forget token" dropping every row. Leaves a screenshot in
 * test-output/board.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX, sandboxUp } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';
import { CHROMIUM_PATH, ensureChromium } from '../support/webrtc/browser';

jest.setTimeout(60_000);

const VIEWER = 'board-int-viewer-7f3a9c';
const PLAIN = SANDBOX.endpoints.plainPhone; // 2002
const AOR_MISMATCH = SANDBOX.endpoints.aorMismatch; // 1002
const SCREENSHOT = path.join(__dirname, '..', '..', 'test-output', 'board.png');

/** Launch flags that work on this machine (see test/support/webrtc/browser.ts); no media needed here. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the live board in a browser', () => {
  let daemon: TestDaemon | undefined;
  let browser: BrowserContext | undefined;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  const phones: SipUdpClient[] = [];
  let plainPhone: SipUdpClient;
  let port: number;

  const rowsOf = (testid: string) =>
    page.getByTestId(testid).evaluateAll((rows) => rows.map((r) => r.dataset.endpoint));

  beforeAll(async () => {
    await sandboxUp();
    await ensureChromium();
    daemon = await startDaemon(sandboxNodeYaml('pbx1'), `auth: { viewerToken: "${VIEWER}" }`);
    port = Number(new URL(daemon.url).port);
    const { chromium } = await import('playwright-core');
    profile = await mkdtemp(path.join(os.tmpdir(), 'pbxpulse-board-'));
    // A fresh profile per run (launchPersistentContext owns the --user-data-dir flag).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: { width: 1440, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    // Graceful: hang up and unREGISTER, so no contact of 2002 outlives this file and skews the next one.
    for (const p of phones.splice(0)) await p.close();
    await browser?.close();
    await daemon?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('asks for the viewer token, then shows node pbx1 up over the live stream', async () => {
    await page.goto(`${daemon!.url}/`);
    await page.getByTestId('token-panel').waitFor({ state: 'visible' });
    await expectEventually(async () =>
      expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('locked'),
    );
    // A wrong token: the API answers 401 and the prompt comes back saying so.
    await page.getByTestId('token-input').fill('not-the-token');
    await page.getByTestId('token-submit').click();
    await expectEventually(async () =>
      expect(await page.getByTestId('token-panel').textContent()).toContain('The token was refused'),
    );
    await page.getByTestId('token-input').fill(VIEWER);
    await page.getByTestId('token-submit').click();

    await page.getByTestId('token-panel').waitFor({ state: 'hidden' });
    const node = page.locator('[data-testid=node-row][data-node=pbx1]');
    await expectEventually(async () => {
      expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('live');
      expect(await node.getByTestId('node-ami').textContent()).toBe('up');
      expect(await node.getByTestId('node-ari').textContent()).toBe('up');
      expect(await node.getByTestId('node-version').textContent()).toMatch(/^\d+\./);
    }, 15_000);
    // The token is kept for the tab, and never in the URL of the page itself.
    expect(await page.evaluate("sessionStorage.getItem('pbxpulse.token')")).toBe(VIEWER);
    expect(page.url()).not.toContain(VIEWER);
  });

  it('shows the AOR-not-found alert of a real REGISTER and the AOR_NAME_MISMATCH finding with its remedy', async () => {
    const phone = await SipUdpClient.open();
    phones.push(phone);
    const res = await phone.register({ user: AOR_MISMATCH.name, password: AOR_MISMATCH.password });
    expect(res.status).toBe(404);

    const alert = page.locator(
      `[data-testid=alert-row][data-alert-type=aor_not_found][data-endpoint="1002"]`,
    );
    await alert.waitFor({ state: 'visible' });
    expect(await alert.getByTestId('alert-message').textContent()).toContain('aors=1002-aor');
    expect(await alert.getByTestId('alert-remedy').textContent()).toContain('[1002-aor]');
    // The pjsip.conf lines of the remedy keep their line breaks: a preformatted block, not a paragraph.
    const snippet = alert.getByTestId('alert-remedy').getByTestId('remedy-snippet').first();
    expect(await snippet.evaluate((e) => e.tagName)).toBe('PRE');
    expect(await snippet.innerText()).toMatch(/^\[1002\]\ntype=/m);

    const finding = page.locator(
      '[data-testid=finding-row][data-code=AOR_NAME_MISMATCH][data-object="1002"]',
    );
    await finding.waitFor({ state: 'visible' });
    expect(await finding.getByTestId('finding-remedy').textContent()).toContain(
      'rename the AOR section [1002-aor] to [1002]',
    );

    // The text filter narrows the endpoint list.
    await page.getByTestId('endpoint-filter').fill('1002');
    await expectEventually(async () => expect(await rowsOf('endpoint-row')).toEqual(['1002']));
    await page.getByTestId('endpoint-filter').fill('');
  });

  it('a real call appears in the active calls and disappears after the hangup', async () => {
    const phone = await SipUdpClient.open();
    phones.push(phone);
    plainPhone = phone;
    expect((await phone.register({ user: PLAIN.name, password: PLAIN.password })).status).toBe(200);
    await expectEventually(async () =>
      expect(
        await page
          .locator(`[data-testid=endpoint-row][data-endpoint="${PLAIN.name}"]`)
          .getAttribute('data-registered'),
      ).toBe('true'),
    );

    const endpoint = page.locator(`[data-testid=endpoint-row][data-endpoint="${PLAIN.name}"]`);
    // Its contact shows on its row, and the device state reads as words with Asterisk's name as tooltip.
    await expectEventually(async () =>
      expect(await endpoint.getByTestId('endpoint-contact').count()).toBeGreaterThan(0),
    );
    const device = endpoint.getByTestId('endpoint-device');
    await expectEventually(async () => {
      expect(await device.textContent()).toBe('idle');
      expect(await device.getAttribute('title')).toBe('NOT_INUSE');
    });

    const call = await phone.call(SANDBOX.extensions.echo, { sendRtp: true });
    expect(call.state).toBe('answered');
    // Live: a device-state change reaches the board as an endpoint.updated delta.
    await expectEventually(async () => {
      expect(await device.textContent()).toBe('in use');
      expect(await device.getAttribute('title')).toBe('INUSE');
    });
    await expectEventually(async () =>
      expect(await page.getByTestId('summary').textContent()).toMatch(/(^|\D)1 call(?!s)/),
    );
    const row = page.locator('[data-testid=call-row]', {
      hasText: `${PLAIN.name} → ${SANDBOX.extensions.echo}`,
    });
    await row.waitFor({ state: 'visible' });
    await expectEventually(async () => expect(await row.getByTestId('call-state').textContent()).toBe('up'));
    // RTCP quality reaches the board live (coalesced call.quality deltas): a MOS badge and the figures.
    await expectEventually(
      async () => expect(await row.getByTestId('call-mos').textContent()).toMatch(/^MOS [1-4]\.\d$/),
      8000,
    );
    // Jitter once Asterisk's second sender report gave the stream's clock rate.
    await expectEventually(
      async () =>
        expect(await row.getByTestId('call-quality').textContent()).toMatch(/ms jitter · 0\.0 % loss/),
      5000,
    );

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await call.hangup();
    await row.waitFor({ state: 'detached' });
    await expectEventually(async () => expect(await device.textContent()).toBe('idle'));
    expect(pageErrors).toEqual([]);
  });

  it('the registered / unregistered switch hides the other kind', async () => {
    const show = page.getByTestId('endpoint-show');
    await show.selectOption('unregistered');
    await expectEventually(async () => {
      const shown = await rowsOf('endpoint-row');
      expect(shown).toContain(AOR_MISMATCH.name); // 404 on its REGISTER: never registered
      expect(shown).not.toContain(PLAIN.name);
    });
    await show.selectOption('registered');
    await expectEventually(async () => {
      const shown = await rowsOf('endpoint-row');
      expect(shown).toContain(PLAIN.name);
      expect(shown).not.toContain(AOR_MISMATCH.name);
    });
    expect(
      await page.getByTestId('endpoint-row').evaluateAll((rows) => rows.map((r) => r.dataset.registered)),
    ).not.toContain('false');
    await show.selectOption('all');
    await expectEventually(async () =>
      expect(await rowsOf('endpoint-row')).toEqual(expect.arrayContaining([PLAIN.name, AOR_MISMATCH.name])),
    );
  });

  it('shows "disconnected" when the daemon goes away', async () => {
    await daemon!.close();
    daemon = undefined;
    await page.getByTestId('disconnected-banner').waitFor({ state: 'visible' });
    expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('disconnected');
  });

  it('reconnects by itself once the daemon is back on the same port', async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'), `auth: { viewerToken: "${VIEWER}" }`, { port });
    const node = page.locator('[data-testid=node-row][data-node=pbx1]');
    // The backoff after a few failed retries is at most a few seconds here.
    await expectEventually(async () => {
      expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('live');
      expect(await node.getByTestId('node-ami').textContent()).toBe('up');
    }, 30_000);
    await page.getByTestId('disconnected-banner').waitFor({ state: 'hidden' });
    expect(await page.getByTestId('token-panel').isHidden()).toBe(true);
    // The new daemon resynced from Asterisk: 2002 is still registered there.
    await expectEventually(
      async () =>
        expect(
          await page
            .locator(`[data-testid=endpoint-row][data-endpoint="${PLAIN.name}"]`)
            .getAttribute('data-registered'),
        ).toBe('true'),
      10_000,
    );
  });

  it('notices a socket that went silent without a close, and reconnects', async () => {
    // A proxy in front of /ws that can stop delivering frames in both directions without closing:
    // what a sleeping laptop, a network change or an idle-timeout proxy leaves behind.
    const links: { dead: boolean }[] = [];
    const fromPage: string[] = [];
    await page.routeWebSocket(
      (url) => url.pathname === '/ws',
      (ws) => {
        const link = { dead: false };
        links.push(link);
        const server = ws.connectToServer();
        ws.onMessage((m) => {
          if (typeof m === 'string') fromPage.push(m);
          if (!link.dead) server.send(m);
        });
        server.onMessage((m) => {
          if (!link.dead) ws.send(m);
        });
      },
    );
    // Routing applies to sockets opened from now on; the tab keeps its token over a reload.
    await page.reload();
    await expectEventually(
      async () => expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('live'),
      10_000,
    );
    expect(links).toHaveLength(1);
    links[0].dead = true;

    // The watchdog probes the quiet socket, gets no answer by its next round (every 15 s), gives up.
    await expectEventually(
      async () => expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('disconnected'),
      40_000,
      200,
    );
    expect(fromPage).toContain('{"type":"subscribe"}');
    await expectEventually(async () => {
      expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('live');
      expect(links.length).toBeGreaterThan(1);
    }, 10_000);
    expect(
      await page.locator('[data-testid=node-row][data-node=pbx1]').getByTestId('node-ami').textContent(),
    ).toBe('up');
  }, 60_000);

  it('"forget token" drops every row read with it and asks again', async () => {
    // Something in every table first: an alert (a new daemon, a new REGISTER) and a call.
    const phone = await SipUdpClient.open();
    phones.push(phone);
    expect((await phone.register({ user: AOR_MISMATCH.name, password: AOR_MISMATCH.password })).status).toBe(
      404,
    );
    await page
      .locator(`[data-testid=alert-row][data-alert-type=aor_not_found][data-endpoint="1002"]`)
      .waitFor({ state: 'visible' });
    const call = await plainPhone.call(SANDBOX.extensions.echo, { sendRtp: true });
    expect(call.state).toBe('answered');
    await page.getByTestId('call-row').first().waitFor({ state: 'visible' });
    expect(await page.getByTestId('endpoint-row').count()).toBeGreaterThan(0);

    await page.getByTestId('token-forget').click();
    await page.getByTestId('token-panel').waitFor({ state: 'visible' });
    expect(await page.getByTestId('token-panel').textContent()).toContain('needs a viewer token');
    await expectEventually(async () => {
      expect(await page.getByTestId('ws-status').getAttribute('data-state')).toBe('locked');
      for (const testid of ['node-row', 'endpoint-row', 'call-row', 'alert-row', 'finding-row']) {
        expect([testid, await page.getByTestId(testid).count()]).toEqual([testid, 0]);
      }
    });
    expect(await page.getByTestId('summary').textContent()).toContain('0 calls');
    expect(await page.evaluate("sessionStorage.getItem('pbxpulse.token')")).toBeNull();

    // Nothing comes back behind the prompt: the socket is closed.
    await call.hangup();
    expect(await page.getByTestId('call-row').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
