import { Injectable, Logger } from '@nestjs/common';
import { type BoardAssets, bundleBoard, readBoardAssets } from './board.bundle';

/**
 * The board's files, read once. After `npm run build` they are in `dist/board/assets`; a daemon
 * running from the TypeScript sources (the tests, ts-jest) has none there and bundles them with
 * esbuild on the first request, so a test never serves a stale bundle.
 */
@Injectable()
export class BoardAssetsService {
  private readonly logger = new Logger(BoardAssetsService.name);
  private pending: Promise<BoardAssets> | undefined;

  get(): Promise<BoardAssets> {
    // A failed load is not cached: the next request tries again.
    this.pending ??= this.load().catch((err: unknown) => {
      this.pending = undefined;
      throw err;
    });
    return this.pending;
  }

  private async load(): Promise<BoardAssets> {
    const built = readBoardAssets();
    if (built) return built;
    try {
      const assets = await bundleBoard();
      this.logger.log('no prebuilt board next to the daemon: bundled src/board/client');
      return assets;
    } catch (err) {
      this.logger.error(
        `the board is not built and cannot be bundled here (run npm run build): ${err instanceof Error ? err.message : String(err)}`,
      );
      throw err;
    }
  }
}
