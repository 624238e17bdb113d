import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, withTempDir } from '../helpers/cli.js';

// The measure lives in one place (scripts/imports.mjs: `node scripts/imports.mjs` prints it).
const imports = (await import(pathToFileURL(join(REPO, 'scripts', 'imports.mjs')).href)) as typeof import('../../scripts/imports.mjs');
const { LAYERS, folderCycles, importEdges, runtimeSpecifiers, violations } = imports;
const SRC = join(REPO, 'src');

const show = (e: { from: string; to: string }) => `src/${e.from} -> src/${e.to}`;

test('no import runs up the layer order (docs/architecture.md) or sideways between folders of one layer', () => {
  const edges = importEdges(SRC);
  assert.ok(edges.length > 300, `the script sees the imports (${edges.length})`);
  const { up, unnamed } = violations(edges);
  assert.deepEqual(unnamed, [], 'every folder under src/ has its place in LAYERS (scripts/imports.mjs) and docs/architecture.md');
  assert.deepEqual(up.map(show), [], 'move the code to its layer, or pass the value down instead of importing up');
});

test('no folder under src/ takes part in an import cycle', () => {
  assert.deepEqual(folderCycles(importEdges(SRC)), []);
});

test('every folder under src/ is in the order, and docs/architecture.md draws the same order', () => {
  const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const named = LAYERS.flat();
  assert.deepEqual(folders.filter((f) => !named.includes(f)), []);
  const doc = readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The layers'), doc.indexOf('\n## ', doc.indexOf('## The layers') + 1));
  // Each row of the table: | n | `folder/`, `other/` | … |
  const rows = section
    .split('\n')
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) => [...l.split('|')[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, '').replace(/^src\//, '')));
  const asDrawn = rows.map((r) => r.map((f) => (f === 'index.ts' || f === 'schema.ts' ? '(entry)' : /^[a-z-]+\.ts$/.test(f) ? '(root)' : f)).filter((f, i, a) => a.indexOf(f) === i));
  assert.deepEqual(asDrawn, LAYERS.map((r) => [...r]));
});

test('the host is chosen in one place: new LiveHost( only in src/host/open.ts and the rooted host it wraps', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const constructing = files(SRC)
    .filter((f) => /new LiveHost\(|\.LiveHost\(/.test(readFileSync(f, 'utf8')))
    .map((f) => f.slice(SRC.length + 1))
    .sort();
  assert.deepEqual(constructing, ['host/open.ts', 'host/rooted-host.ts'], 'take the host the command chose (src/host/open.ts), or pass it down');
});

test('type-only imports are not counted; value imports, re-exports and import() are', () => {
  const text = [
    "import type { A } from './a.js';",
    "import { type B, type C } from './b.js';",
    "import { type D, e } from './d.js';",
    "import f from './f.js';",
    "export { g } from './g.js';",
    "export type { H } from './h.js';",
    "export * from './i.js';",
    "type J = import('./j.js').J;",
    "const k = await import('./k.js');",
  ].join('\n');
  assert.deepEqual(runtimeSpecifiers(text), ['./d.js', './f.js', './g.js', './i.js', './k.js']);
});

test('the check fails on an import up the order and on a cycle between folders', async () => {
  await withTempDir(async (dir) => {
    const write = (file: string, text: string) => {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    write('host/live.ts', "import { render } from '../ui/render.js';\nexport const live = render;\n");
    write('ui/render.ts', "import { live } from '../host/live.js';\nexport const render = () => live;\n");
    write('ui/plain.ts', "import type { live } from '../host/live.js';\nexport type T = typeof live;\n");
    const edges = importEdges(dir);
    assert.deepEqual(folderCycles(edges), [['host', 'ui']]);
    assert.deepEqual(violations(edges).up.map(show), ['src/ui/render.ts -> src/host/live.ts']);
  });
});
