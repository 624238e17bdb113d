// npm test: every compiled test directory except dist/tests/kernel/pipeline (the opt-in
// cross-compiling suite: npm run test:kernel) and dist/tests/e2e (npm run test:power9). Directories are listed at run time, so new test
// folders are picked up without editing this file.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNode18 } from './node18.mjs';

const root = 'dist/tests';
const OPT_IN = new Set(['kernel', 'e2e', 'guest']);
const dirs = existsSync(root)
  ? readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !OPT_IN.has(e.name))
      .map((e) => join(root, e.name))
  : [];
// The kernel pipeline's fast unit tests do run by default.
if (existsSync(join(root, 'kernel', 'unit'))) dirs.push(join(root, 'kernel', 'unit'));
const files = existsSync(root) ? readdirSync(root).filter((f) => f.endsWith('.test.js')).map((f) => join(root, f)) : [];
if (dirs.length + files.length === 0) {
  console.error('no compiled tests under dist/tests');
  process.exit(1);
}
const node18 = ensureNode18();
if (!node18.bin) {
  // On x64 Linux (CI, developers) the Node 18 tests are not optional.
  if (process.platform === 'linux' && process.arch === 'x64') {
    console.error(`talos-mac tests: cannot get the Node 18 binary: ${node18.reason}`);
    process.exit(1);
  }
  console.error(`talos-mac tests: the Node 18 tests are skipped: ${node18.reason}`);
}
const env = { ...process.env, ...(node18.bin ? { TALOS_MAC_NODE18: node18.bin } : {}) };
// The tests act on sandboxes: the machine's own talos-mac state and the files setup edits must be
// as they were before them (a fake tool that missed its sandbox once emptied this machine's /etc/group).
const STATE = '/var/lib/talos-mac';
const stateBefore = existsSync(STATE);
const WATCHED = ['/etc/group', '/etc/passwd', '/etc/gshadow', '/etc/default/grub', '/boot/grub/grub.cfg', '/etc/modules-load.d/talos-mac.conf'];
const digest = () => WATCHED.map((f) => `${f} ${existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : 'absent'}`);
const watchedBefore = digest();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...dirs, ...files], { stdio: 'inherit', env });
const changed = digest().filter((line, i) => line !== watchedBefore[i]).map((line) => line.split(' ')[0]);
if (changed.length > 0) {
  console.error(`talos-mac tests: a test changed this machine's ${changed.join(', ')}: tests must act on sandboxes only`);
  process.exit(1);
}
if (!stateBefore && existsSync(STATE)) {
  console.error(`talos-mac tests: a test wrote ${STATE} on this machine (its record or backups): tests must keep their state in a sandbox`);
  process.exit(1);
}
process.exit(r.status ?? 1);
