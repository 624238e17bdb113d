// The imports that run: every `import … from`, `export … from` and `import()` between the files
// under src/, type-only ones left out (`import type`, `import { type A }` with every name a type,
// `import('…').T` in a type), read from the source with TypeScript's own parser. The layer test
// (tests/architecture/layers.test.ts) and docs/architecture.md use it.
//   node scripts/imports.mjs        the folder graph, the cycles between folders, imports up the order
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The layers, top first: a file may import its own folder and any folder below it, never above.
 * Folders on one row are one layer and do not import each other. docs/architecture.md draws the same order.
 */
export const LAYERS = [
  ['cli', '(entry)'],
  ['setup'],
  ['demo'],
  ['launch', 'doctor'],
  ['steps'],
  ['kernel', 'guests'],
  ['privileged'],
  ['host'],
  ['distro'],
  ['ui', 'parse'],
  ['(root)'],
];

/** The files directly under src/ that are entries of the package (package.json "exports"): they sit on top. */
const ENTRIES = ['index.ts', 'schema.ts'];

/** Every .ts file under `dir`, as paths relative to it with '/' separators. */
function sources(dir, sub = '') {
  const out = [];
  for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const p = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...sources(dir, p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** The specifiers of the runtime imports in one TypeScript source text. */
export function runtimeSpecifiers(text, fileName = 'x.ts') {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined &&
            c.namedBindings !== undefined &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The folder of a file relative to src/: '(entry)' for the package's entries, '(root)' for the other src/*.ts. */
export const folderOf = (file) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : ENTRIES.includes(file) ? '(entry)' : '(root)');

/** Every runtime import from one file under `srcDir` to another: { from, to, line } with paths relative to srcDir. */
export function importEdges(srcDir) {
  const edges = [];
  for (const file of sources(srcDir)) {
    const text = readFileSync(join(srcDir, file), 'utf8');
    for (const spec of runtimeSpecifiers(text, file)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(srcDir, resolve(srcDir, dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue;
      edges.push({ from: file, to: target, spec });
    }
  }
  return edges;
}

/** The strongly connected components of the folder graph with more than one folder (Tarjan). */
export function folderCycles(edges) {
  const graph = new Map();
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    if (a !== b) graph.get(a).add(b);
  }
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/** The layer of a folder (0 = top), or undefined for a folder the order does not name. */
export const layerOf = (folder, layers = LAYERS) => {
  const i = layers.findIndex((row) => row.includes(folder));
  return i < 0 ? undefined : i;
};

/** Imports that go up the order or sideways within a layer, and folders the order does not name. */
export function violations(edges, layers = LAYERS) {
  const up = [];
  const unnamed = new Set();
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    const la = layerOf(a, layers);
    const lb = layerOf(b, layers);
    if (la === undefined) unnamed.add(a);
    if (lb === undefined) unnamed.add(b);
    if (la !== undefined && lb !== undefined && lb <= la) up.push(e);
  }
  return { up, unnamed: [...unnamed].sort() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = process.argv[2] ?? fileURLToPath(new URL('../src', import.meta.url));
  const edges = importEdges(src);
  const pairs = new Map();
  for (const e of edges) {
    const k = `${folderOf(e.from)} -> ${folderOf(e.to)}`;
    if (folderOf(e.from) !== folderOf(e.to)) pairs.set(k, (pairs.get(k) ?? 0) + 1);
  }
  console.log(`${edges.length} runtime imports between files under src/`);
  console.log('\nfolder graph (imports):');
  for (const [k, n] of [...pairs].sort()) console.log(`  ${k}  ${n}`);
  const cycles = folderCycles(edges);
  console.log(`\nfolder cycles: ${cycles.length === 0 ? 'none' : ''}`);
  for (const c of cycles) console.log(`  ${c.join(' <-> ')}`);
  const { up, unnamed } = violations(edges);
  console.log(`\nimports up (or sideways in) the layer order ${LAYERS.map((r) => r.join(',')).join(' > ')}: ${up.length}`);
  for (const e of up) console.log(`  ${e.from} -> ${e.to}`);
  if (unnamed.length) console.log(`\nfolders the order does not name: ${unnamed.join(', ')}`);
}
