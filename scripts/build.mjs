// Bundles the CLI into dist/cli/ with code splitting: start-up loads only what a command needs.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const result = await build({
  metafile: true,
  // The live share's relay is its own small file: QEMU runs it for each guest connection (src/launch/live-share.ts).
  entryPoints: { entry: 'src/cli/entry.ts', 'live-share-pipe': 'src/launch/live-share-pipe.ts' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18.19',
  sourcemap: true,
  minifySyntax: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

// Which chunk holds which sources: tests use it to check that --json never loads the UI libraries.
writeFileSync('dist/cli/meta.json', JSON.stringify(result.metafile));

// Chunks of earlier builds (their names carry a content hash) would otherwise pile up and ship in
// the package ("files": dist/cli/*.js). Removed after the build, never before: a running guest's
// QEMU runs dist/cli/live-share-pipe.js for each connection.
const outputs = new Set(Object.keys(result.metafile.outputs).map((f) => basename(f)));
for (const f of readdirSync('dist/cli')) if (/\.js(\.map)?$/.test(f) && !outputs.has(f)) rmSync(`dist/cli/${f}`, { force: true });
