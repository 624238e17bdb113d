// Bundles the package's exports ("." and "./schema") with zod inside, so the installed package
// has no runtime dependencies (the CLI bundle in dist/cli has none either). One build with
// splitting: both entries share one copy of the schema, so `talos-mac` and `talos-mac/schema`
// export the same objects.
import { build } from 'esbuild';

await build({
  entryPoints: { index: 'src/index.ts', schema: 'src/doctor/report-schema.ts' },
  outdir: 'dist/lib',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18.19',
  minifySyntax: true,
  logLevel: 'warning',
});
