#!/usr/bin/env node
// The second half of `npm run build` (after `tsc -p tsconfig.build.json`): type-checks the board's
// browser code (its own project: DOM, no Node) and bundles it into dist/board/assets, where the
// compiled daemon serves it from. The bundling itself is dist/board/board.bundle.js, the same code a
// daemon running from the TypeScript sources (the tests) calls on the first request.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'board', 'board.bundle.js');
if (!existsSync(compiled)) {
  console.error(`build-board: ${relative(root, compiled)} is missing; run tsc -p tsconfig.build.json first`);
  process.exit(1);
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const checked = spawnSync(process.execPath, [tsc, '-p', join(root, 'src', 'board', 'client')], {
  cwd: root,
  stdio: 'inherit',
});
if (checked.status !== 0) {
  console.error('build-board: the board client does not type-check (tsc -p src/board/client)');
  process.exit(checked.status ?? 1);
}

const { BOARD_ASSETS_DIR, bundleBoard, writeBoardAssets } = createRequire(import.meta.url)(compiled);
try {
  const assets = await bundleBoard();
  writeBoardAssets(assets);
  const kib = (s) => `${(Buffer.byteLength(s) / 1024).toFixed(1)} KiB`;
  console.log(
    `build-board: ${relative(root, BOARD_ASSETS_DIR)}: board.js ${kib(assets.script)}, ` +
      `board.css ${kib(assets.style)}, board.html ${kib(assets.html)}`,
  );
} catch (err) {
  console.error(`build-board: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
