// Everything the package ships that is built: the CLI bundle (build.mjs, dist/cli) and the
// exports ("." and "./schema", dist/lib) with zod inside, so the installed package has no runtime
// dependencies. One build with splitting: both entries share one copy of the schema, so
// `talos-mac` and `talos-mac/schema` export the same objects.
import { build } from 'esbuild';
import './build.mjs';

await build({
  entryPoints: { index: 'src/index.ts', schema: 'src/schema.ts' },
  outdir: 'dist/lib',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18.19',
  minifySyntax: true,
  logLevel: 'warning',
});
