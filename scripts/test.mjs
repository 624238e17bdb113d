// npm test: every compiled test file except dist/tests/kernel/{pipeline,e2e} (the opt-in
// cross-compiling suite: npm run test:kernel), dist/tests/e2e (npm run test:power9) and dist/tests/fresh
// (npm run test:fresh). Files are listed at run time (scripts/test-files.mjs), so new tests are picked up.
//   node scripts/test.mjs [--node 24]   with --node, the suite runs on that Node (npm run test:node24)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNode } from './node-bin.mjs';
import { testFiles } from './test-files.mjs';
import { ensureTestPrerequisites } from './test-prereqs.mjs';

const root = join('dist', 'tests');
const files = testFiles([root], ['e2e', 'fresh', 'guest', join('kernel', 'pipeline'), join('kernel', 'e2e')].map((d) => join(root, d)));
if (files.length === 0) {
  console.error('no compiled tests under dist/tests');
  process.exit(1);
}
const missing = await ensureTestPrerequisites();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const x64Linux = process.platform === 'linux' && process.arch === 'x64';
const node = (major) => {
  const got = ensureNode(major);
  // On x64 Linux (CI, developers) the other Nodes are not optional.
  if (!got.bin && x64Linux) {
    console.error(`talos-mac tests: cannot get the Node ${major} binary: ${got.reason}`);
    process.exit(1);
  }
  return got;
};
const at = process.argv.indexOf('--node');
const runner = at > 0 ? node(process.argv[at + 1]).bin : process.execPath;
if (!runner) {
  console.error(`talos-mac tests: no Node ${process.argv[at + 1]} to run the tests on here`);
  process.exit(1);
}
const node18 = node(18);
if (!node18.bin) console.error(`talos-mac tests: the Node 18 tests are skipped: ${node18.reason}`);
const env = { ...process.env, ...(node18.bin ? { TALOS_MAC_NODE18: node18.bin } : {}) };
// The tests act on sandboxes: the machine's own talos-mac state and the files setup edits must be
// as they were before them (a fake tool that missed its sandbox once emptied this machine's /etc/group).
const STATE = '/var/lib/talos-mac';
const stateBefore = existsSync(STATE);
const WATCHED = ['/etc/group', '/etc/passwd', '/etc/gshadow', '/etc/default/grub', '/boot/grub/grub.cfg', '/etc/modules-load.d/talos-mac.conf'];
// A file this user cannot read (/etc/gshadow for a user who is not root) this user's tests cannot change either.
const hash = (f) => {
  try {
    return createHash('sha256').update(readFileSync(f)).digest('hex');
  } catch (e) {
    return e.code === 'ENOENT' ? 'absent' : 'unreadable';
  }
};
const digest = () => WATCHED.map((f) => `${f} ${hash(f)}`);
const watchedBefore = digest();
const r = spawnSync(runner, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
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
