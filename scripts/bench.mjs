// npm run bench: runs every section in scripts/bench/ (each exports a default async function
// returning { title, rows: [[label, value, note?]...] }) and prints the figures side by side.
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const dir = new URL('./bench/', import.meta.url);
const sections = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'lib.mjs')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

for (const file of sections) {
  const mod = await import(new URL(file, dir));
  const { title, rows } = await mod.default();
  console.log(`\n## ${title}`);
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [label, value, note] of rows) console.log(`  ${label.padEnd(w)}  ${String(value).padStart(12)}${note ? `  ${note}` : ''}`);
}
