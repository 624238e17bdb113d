// The compiled test files under some folders, listed here: from Node 22, `node --test DIR` no longer
// runs the tests in a directory (it takes files and globs; globs only from Node 21), so every suite
// passes file paths, which every Node from 18 to 24 takes.
//   node scripts/test-files.mjs DIR...   runs them one at a time (npm run test:kernel, test:power9, test:fresh)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every *.test.js under `dirs` (recursively; a .test.js file named stands for itself), sorted; folders named in `skip` (paths) are left out. */
export function testFiles(dirs, skip = []) {
  const out = [];
  const walk = (dir) => {
    if (skip.includes(dir) || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.test.js')) out.push(p);
    }
  };
  for (const d of dirs) {
    if (d.endsWith('.test.js') && existsSync(d)) out.push(d);
    else walk(d);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.slice(2);
  const files = testFiles(dirs);
  if (files.length === 0) {
    console.error(`no compiled tests under ${dirs.join(', ')} (npm run build first)`);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
