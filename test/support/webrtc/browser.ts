/**
 * Headless Debian Chromium driven by playwright-core, on a page that runs the JsSIP softphone of
 * softphone.ts. Recipe: /work/shared/ASTERISK.md §2. Playwright never downloads a browser here: it
 * drives `/usr/bin/chromium` from Debian's `chromium` package (ensureChromium installs it).
 *
 *   await ensureChromium();                       // once, as root; ~30 s the first time
 *   const phone = await startSoftphonePage();
 *   try { await phone.softphone.evaluate((sp) => sp.call('600')); } finally { await phone.close(); }
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect, promisify } from 'node:util';
import type { BrowserContext, JSHandle, Page } from 'playwright-core';
import type { Softphone } from './softphone';

const execFileAsync = promisify(execFile);

/** Debian's chromium. `PBXPULSE_CHROMIUM` overrides it (another Chromium build, for a local run). */
export const CHROMIUM_PATH = process.env.PBXPULSE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Chromium flags that make a WebRTC call work headless on a machine with no network but loopback.
 * Playwright adds `--headless`; the fresh `--user-data-dir` comes from launchPersistentContext.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  // We run as root in a container: Chromium's sandbox refuses to start as root.
  '--no-sandbox',
  '--disable-gpu',
  // getUserMedia: grant without a prompt, and use a synthetic microphone (a beep) instead of a device.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // Without it Chromium gathers no 127.0.0.1 ICE candidate, and Asterisk is only on 127.0.0.1.
  '--allow-loopback-in-peer-connection',
  // No calls home: the machine's closed network refuses them, many at a time, at every start.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

const SOFTPHONE_SOURCE = path.join(__dirname, 'softphone.ts');

function errorText(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const { stderr, message } = err as { stderr?: unknown; message?: unknown };
    const tail = typeof stderr === 'string' && stderr.trim() !== '' ? `\n${stderr.trim().slice(-2000)}` : '';
    return `${typeof message === 'string' ? message : inspect(err)}${tail}`;
  }
  return String(err);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure Debian's Chromium is at CHROMIUM_PATH, installing the `chromium` package with apt-get
 * when it is missing (as root only; bounded by `timeoutMs`, apt-get update included). Resolves the
 * path. Instant when Chromium is already there; ~30 s for the install on this kind of machine.
 */
export async function ensureChromium(opts: { timeoutMs?: number } = {}): Promise<string> {
  if (await isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const hint = 'install it with `apt-get update && apt-get install -y chromium` (Debian package, as root)';
  if (CHROMIUM_PATH !== '/usr/bin/chromium') {
    throw new Error(`Chromium not found at PBXPULSE_CHROMIUM=${CHROMIUM_PATH}`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH} and not running as root: ${hint}`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 5 * 60_000);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait (bounded) for another apt/dpkg to finish instead of failing on its lock.
  const lock = ['-o', 'DPkg::Lock::Timeout=60'];
  const run = async (args: string[], what: string): Promise<void> => {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`Chromium install timed out before ${what}; ${hint}`);
    try {
      await execFileAsync('apt-get', [...lock, ...args], { env, timeout: left, maxBuffer: 64 * 1024 * 1024 });
    } catch (err: unknown) {
      throw new Error(`Chromium install failed at ${what}: ${errorText(err)}\n${hint}`, { cause: err });
    }
  };
  const began = Date.now();
  await run(['update', '-qq'], '`apt-get update`');
  await run(['install', '-y', '-qq', 'chromium'], '`apt-get install -y chromium`');
  if (!(await isExecutable(CHROMIUM_PATH))) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing; ${hint}`);
  }
  process.stdout.write(`webrtc: installed Debian chromium in ${Math.round((Date.now() - began) / 1000)} s\n`);
  return CHROMIUM_PATH;
}

let bundled: Promise<string> | undefined;

/**
 * softphone.ts + jssip bundled by esbuild into one browser IIFE, in memory (nothing is written to
 * disk). jssip ships no browser build; its `events`/`debug` dependencies resolve to their browser
 * versions. Cached for the life of the process.
 */
export function bundleSoftphone(): Promise<string> {
  bundled ??= (async () => {
    try {
      const esbuild = await import('esbuild');
      const result = await esbuild.build({
        entryPoints: [SOFTPHONE_SOURCE],
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: 'chrome120',
        logLevel: 'silent',
        define: { 'process.env.NODE_ENV': '"production"' },
      });
      return result.outputFiles[0].text;
    } catch (err: unknown) {
      bundled = undefined;
      throw new Error(`bundling ${SOFTPHONE_SOURCE} with esbuild failed: ${errorText(err)}`, { cause: err });
    }
  })();
  return bundled;
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>pbxpulse WebRTC test softphone</title>
<style>
  body { font: 14px/1.4 monospace; margin: 16px; background: #fff; color: #111; }
  h1 { font-size: 16px; } pre { background: #f4f4f4; padding: 8px; white-space: pre-wrap; }
</style></head>
<body>
<h1>pbxpulse WebRTC test softphone (JsSIP)</h1>
<pre id="status">loading…</pre>
<pre id="log"></pre>
<script src="/softphone.js"></script>
</body>
</html>
`;

/** Serves the page and the bundle on 127.0.0.1:<free port> (loopback http is a secure context). */
async function servePage(bundle: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = (req.url ?? '/').split('?')[0];
    if (route === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
    } else if (route === '/softphone.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(bundle);
    } else if (route === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Rejects after `ms` with `what` in the message; the timer never outlives the promise. */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SoftphonePage {
  page: Page;
  /**
   * `window.softphone`: `softphone.evaluate((sp, arg) => sp.call(arg), '600')` runs in the page with
   * `sp` bound to it; `page.waitForFunction((sp) => …, softphone)` waits on it.
   */
  softphone: JSHandle<Softphone>;
  /** The page's address (http://127.0.0.1:<port>/). */
  url: string;
  /** Everything the page printed (console, page errors), for failure messages. */
  console: string[];
  /** Closes the browser, removes its profile, stops the page server. Idempotent, never throws. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium (fresh profile, CHROMIUM_FLAGS) on the softphone page and resolves once
 * `window.softphone` is up in a secure context. Does not install Chromium: call ensureChromium first.
 */
export async function startSoftphonePage(
  opts: { timeoutMs?: number; /** Instead of CHROMIUM_FLAGS. */ flags?: readonly string[] } = {},
): Promise<SoftphonePage> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!(await isExecutable(CHROMIUM_PATH))) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: call ensureChromium() first`);
  }
  const bundle = await bundleSoftphone();
  // Loaded lazily: a test run that never starts a browser does not pay for playwright-core.
  const { chromium } = await import('playwright-core');

  const cleanups: (() => Promise<unknown>)[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.reverse()) {
      try {
        await bounded(cleanup(), 10_000, 'browser cleanup');
      } catch {
        // Best effort: the next cleanup (profile removal, server close) must still run.
      }
    }
  };

  try {
    const server = await servePage(bundle);
    cleanups.push(() => server.close());
    const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'pbxpulse-chromium-'));
    cleanups.push(() => rm(userDataDir, { recursive: true, force: true }));

    const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...(opts.flags ?? CHROMIUM_FLAGS)],
      timeout: timeoutMs,
      viewport: { width: 1000, height: 560 },
    });
    cleanups.push(() => context.close());

    const lines: string[] = [];
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    page.setDefaultTimeout(timeoutMs);

    await page.goto(server.url, { timeout: timeoutMs });
    try {
      await page.waitForFunction(() => (globalThis as any).softphone?.ready === true, undefined, {
        timeout: timeoutMs,
      });
    } catch (err: unknown) {
      throw new Error(`softphone page did not start: ${errorText(err)}\n${lines.join('\n')}`, { cause: err });
    }
    const softphone = (await page.evaluateHandle(() => (globalThis as any).softphone)) as JSHandle<Softphone>;
    const secure = await softphone.evaluate((sp) => ({ secure: sp.secureContext, gum: sp.hasGetUserMedia }));
    if (!secure.secure || !secure.gum) {
      throw new Error(
        `softphone page at ${server.url} is not usable for WebRTC: isSecureContext=${secure.secure}, ` +
          `navigator.mediaDevices.getUserMedia ${secure.gum ? 'present' : 'missing'}`,
      );
    }
    return { page, softphone, url: server.url, console: lines, close };
  } catch (err: unknown) {
    await close();
    throw err;
  }
}
