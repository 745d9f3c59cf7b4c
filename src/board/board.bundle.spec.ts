import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { Logger } from '@nestjs/common';
import { BoardAssetsService } from './board.assets';
import * as bundle from './board.bundle';

describe('bundleBoard', () => {
  let assets: bundle.BoardAssets;
  beforeAll(async () => {
    assets = await bundle.bundleBoard();
  });

  it('makes one classic script of the TypeScript modules, types erased', () => {
    expect(() => new Script(assets.script)).not.toThrow();
    expect(assets.script).not.toMatch(/^\s*(import|export)\s/m);
    expect(assets.script).not.toMatch(/:\s*(BoardData|ServerMessage|VNode)\b/);
  });

  it('takes the stylesheet and the page from src/board/client', () => {
    expect(assets.style).toContain('.badge');
    expect(assets.style).toContain('pre.snippet');
    expect(assets.html).toMatch(/^<!doctype html>/);
    expect(assets.html).toContain('<script src="board.js" defer></script>');
  });

  it('what the build writes is what a daemon reads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxpulse-board-'));
    try {
      expect(bundle.readBoardAssets(dir)).toBeUndefined();
      bundle.writeBoardAssets(assets, join(dir, 'assets'));
      expect(bundle.readBoardAssets(join(dir, 'assets'))).toEqual(assets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BoardAssetsService', () => {
  const prebuilt: bundle.BoardAssets = { html: '<!doctype html>', script: 'built();', style: '.built{}' };

  afterEach(() => jest.restoreAllMocks());

  it('serves the prebuilt bundle when the build left one next to it, without bundling', async () => {
    jest.spyOn(bundle, 'readBoardAssets').mockReturnValue(prebuilt);
    const bundleBoard = jest.spyOn(bundle, 'bundleBoard');
    expect(await new BoardAssetsService().get()).toBe(prebuilt);
    expect(bundleBoard).not.toHaveBeenCalled();
  });

  it('bundles the sources once when there is none (a daemon running from src)', async () => {
    jest.spyOn(bundle, 'readBoardAssets').mockReturnValue(undefined);
    const bundleBoard = jest.spyOn(bundle, 'bundleBoard').mockResolvedValue(prebuilt);
    const service = new BoardAssetsService();
    await Promise.all([service.get(), service.get()]);
    expect(await service.get()).toBe(prebuilt);
    expect(bundleBoard).toHaveBeenCalledTimes(1);
  });

  it('a failed bundling is not kept: the next request tries again', async () => {
    jest.spyOn(bundle, 'readBoardAssets').mockReturnValue(undefined);
    const bundleBoard = jest
      .spyOn(bundle, 'bundleBoard')
      .mockRejectedValueOnce(new Error('no esbuild'))
      .mockResolvedValueOnce(prebuilt);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const service = new BoardAssetsService();
    await expect(service.get()).rejects.toThrow('no esbuild');
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('run npm run build'));
    expect(await service.get()).toBe(prebuilt);
    expect(bundleBoard).toHaveBeenCalledTimes(2);
  });
});
