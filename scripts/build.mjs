// Bundles the CLI into dist/cli/ with code splitting: start-up loads only what a command needs.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/entry.ts'],
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
