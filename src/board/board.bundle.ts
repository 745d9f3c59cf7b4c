import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';

/** The three files of the board, as served. */
export interface BoardAssets {
  html: string;
  script: string;
  style: string;
}

/** The board's sources. The same path from `src/board` (ts-jest) and from `dist/board` (the build). */
export const BOARD_CLIENT_DIR = resolve(__dirname, '..', '..', 'src', 'board', 'client');

/** Where `npm run build` puts the bundle: next to the compiled controller, so `dist/` is self-contained. */
export const BOARD_ASSETS_DIR = join(__dirname, 'assets');

const FILES: Record<keyof BoardAssets, string> = {
  html: 'board.html',
  script: 'board.js',
  style: 'board.css',
};

/**
 * Bundles the board with esbuild. esbuild is a devDependency: only the build and a daemon running
 * from the TypeScript sources (the tests) call this, never `node dist/main.js` after a build.
 */
export async function bundleBoard(clientDir = BOARD_CLIENT_DIR): Promise<BoardAssets> {
  const esbuild = await import('esbuild');
  const options: BuildOptions = {
    entryPoints: [join(clientDir, 'board.ts'), join(clientDir, 'board.css')],
    tsconfig: join(clientDir, 'tsconfig.json'),
    outdir: 'out',
    write: false,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    charset: 'utf8',
    legalComments: 'none',
    // An ES module is strict by itself; the IIFE it becomes is not unless it says so.
    banner: { js: "'use strict';" },
    logLevel: 'silent',
  };
  const result = await esbuild.build(options);
  const output = (ext: string): string => {
    const file = result.outputFiles?.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`esbuild produced no ${ext} for the board`);
    return file.text;
  };
  return {
    html: readFileSync(join(clientDir, FILES.html), 'utf8'),
    script: output('.js'),
    style: output('.css'),
  };
}

/** The prebuilt bundle in `dir`, `undefined` when there is none (a daemon running from the sources). */
export function readBoardAssets(dir = BOARD_ASSETS_DIR): BoardAssets | undefined {
  if (!existsSync(join(dir, FILES.script))) return undefined;
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { html: read(FILES.html), script: read(FILES.script), style: read(FILES.style) };
}

export function writeBoardAssets(assets: BoardAssets, dir = BOARD_ASSETS_DIR): void {
  mkdirSync(dir, { recursive: true });
  for (const k of Object.keys(FILES) as Array<keyof BoardAssets>)
    writeFileSync(join(dir, FILES[k]), assets[k]);
}
