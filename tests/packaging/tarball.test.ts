import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';
import { INSTALL, makeSandbox, NODES, run, VERSION } from './sandbox.js';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

// A script in a project that depends on the tarball: both exports resolve and validate a report.
const CONSUMER_CHECK = `import { readFileSync } from 'node:fs';
import { DoctorReportSchema } from 'talos-mac/schema';
import * as main from 'talos-mac';
const r = DoctorReportSchema.safeParse(JSON.parse(readFileSync(process.argv[2], 'utf8')));
if (!r.success) { console.error(JSON.stringify(r.error.issues)); process.exit(1); }
if (main.DoctorReportSchema !== DoctorReportSchema) { console.error('talos-mac and talos-mac/schema differ'); process.exit(1); }
console.log(r.data.schema, r.data.verdict.kind);
`;

test('npm pack ships the CLI and nothing of the build\'s by-products; a global install of it runs on every Node', { timeout: 300_000 }, async (t) => {
  const box = await makeSandbox();
  try {
    // --ignore-scripts: the tarball is made from the dist/ this run already built (no prepare).
    const pack = await box.npm(['pack', '--ignore-scripts', '--json', '--pack-destination', box.dir], REPO);
    assert.equal(pack.code, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as PackResult[];
    assert.ok(info);
    const files = info.files.map((f) => f.path).sort();
    t.diagnostic(`${info.filename}: ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${files.length} files`);
    for (const needed of ['package.json', 'README.md', 'bin/talos-mac.js', 'dist/cli/entry.js', 'dist/lib/index.js', 'dist/lib/schema.js', 'docs/checks.md', 'patches/README.md']) {
      assert.ok(files.includes(needed), `the package has ${needed}`);
    }
    // Every chunk of both bundles: they load each other by relative import at run time.
    for (const bundle of ['cli', 'lib']) {
      const chunks = readdirSync(join(REPO, 'dist', bundle)).filter((f) => f.endsWith('.js'));
      assert.deepEqual(files.filter((f) => f.startsWith(`dist/${bundle}/`)), chunks.map((c) => `dist/${bundle}/${c}`).sort());
    }
    const unwanted = files.filter((f) => /^(dist\/(tests|src)|src|tests|scripts)\/|\.map$|\.tsbuildinfo$|^dist\/cli\/meta\.json$|node_modules/.test(f));
    assert.deepEqual(unwanted, [], 'no tests, sources, sourcemaps or build metadata');

    const tarball = join(box.dir, info.filename);
    const install = await box.npm(['install', '--global', '--prefix', box.prefix, ...INSTALL, tarball]);
    assert.equal(install.code, 0, install.stderr);
    // The bundles need nothing from npm: the install works offline and is one package.
    assert.match(install.stdout, /added 1 package\b/);

    const consumer = join(box.dir, 'consumer');
    await mkdir(consumer);
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(join(consumer, 'check.mjs'), CONSUMER_CHECK);
    const dep = await box.npm(['install', ...INSTALL, tarball], consumer);
    assert.equal(dep.code, 0, dep.stderr);
    const depended = JSON.parse(await readFile(join(consumer, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    assert.match(depended.dependencies?.['talos-mac'] ?? '', /^file:/);

    const bogus = join(box.dir, 'bogus.json');
    await writeFile(bogus, JSON.stringify({ schema: 'talos-mac/doctor@1', ok: true }));
    const rejected = await run(NODES[0]!, ['check.mjs', bogus], { env: box.env, cwd: consumer });
    assert.equal(rejected.code, 1, 'the consumer check does reject a report that is not one');

    for (const node of NODES) {
      const nodeVersion = (await run(node, ['--version'], { env: box.env, cwd: box.dir })).stdout.trim();
      const version = await box.cli(['--version'], node);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), VERSION);

      const doctor = await box.cli(['doctor', '--json'], node);
      assert.equal(doctor.code, 0, `${nodeVersion}: ${doctor.stderr}`);
      const report = join(box.dir, `doctor-${nodeVersion}.json`);
      await writeFile(report, doctor.stdout);
      const checked = await run(node, ['check.mjs', report], { env: box.env, cwd: consumer });
      assert.equal(checked.code, 0, `${nodeVersion}: talos-mac/schema from the installed package: ${checked.stderr}`);
      assert.match(checked.stdout, /^talos-mac\/doctor@1 \S+/);

      const demo = await box.cli(['demo'], node);
      assert.equal(demo.code, 0, `${nodeVersion}: ${demo.stderr}`);
      assert.match(demo.stderr, /booted from \S+disk@0/);
      t.diagnostic(`${nodeVersion}: --version, doctor --json (${checked.stdout.trim()}), demo ok`);
    }
  } finally {
    await box.cleanup();
  }
});
