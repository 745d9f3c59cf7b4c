import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { Script } from 'node:vm';
import { AppModule } from '../app.module';
import { BoardAssetsService } from './board.assets';
import { offlineConfig } from '../../test/support/daemon';

const VIEWER = 'board-viewer-token-0123456789';

describe('BoardController (whole app, viewer token configured)', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    // Nothing listens on port 1: both links stay down, which the board's routes do not care about.
    const config = offlineConfig({ extraYaml: `auth: { viewerToken: "${VIEWER}" }` });
    app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
  });

  afterAll(() => app.close());

  it('serves the page at / without a token, as HTML, under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self' ws: wss:");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<script src="board.js" defer></script>');
    expect(html).toContain('data-testid="token-input"');
  });

  it('the page holds no inline code, no data and no secret', async () => {
    const html = await (await fetch(`${url}/`)).text();
    // Every <script> has a src and there is no inline handler or style: the CSP would block them anyway.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/<style|\sstyle=/i);
    for (const path of ['/', '/board.js', '/board.css']) {
      const text = await (await fetch(url + path)).text();
      expect(text).not.toContain(VIEWER);
      expect(text).not.toContain('127.0.0.1');
    }
  });

  it('serves the script and the stylesheet without a token, with their content types', async () => {
    const js = await fetch(`${url}/board.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe((await app.get(BoardAssetsService).get()).script);
    const css = await fetch(`${url}/board.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain('.badge');
  });

  it('the data it reads stays behind the viewer token', async () => {
    expect((await fetch(`${url}/api/v1/nodes`)).status).toBe(401);
    const ok = await fetch(`${url}/api/v1/nodes`, { headers: { authorization: `Bearer ${VIEWER}` } });
    expect(ok.status).toBe(200);
  });

  it('the script is valid JavaScript and never parses daemon data as HTML', async () => {
    const script = await (await fetch(`${url}/board.js`)).text();
    expect(() => new Script(script)).not.toThrow();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it('serves the script bundled from its TypeScript sources: one strict classic script, no module syntax', async () => {
    const script = await (await fetch(`${url}/board.js`)).text();
    expect(script.startsWith("'use strict';")).toBe(true);
    // A classic <script defer>: an import or export statement would be a syntax error there.
    expect(script).not.toMatch(/^\s*(import|export)\s/m);
    // The pieces that live in separate modules made it into the one file.
    expect(script).toContain('function toDom(');
    expect(script).toContain('function applyEndpointUpdated(');
    expect(script).toContain('"in use"');
  });

  it('is listed in the OpenAPI document like every other route', async () => {
    const { openApiDocument } = await import('../api/openapi');
    const paths = Object.keys(openApiDocument(app).paths);
    expect(paths).toEqual(expect.arrayContaining(['/', '/board.js', '/board.css']));
  });
});
