// npm test's own prerequisites (scripts/test-prereqs.mjs): packages named by this system's row of the
// distribution table, installed when it can, else one line. A stand-in dpkg-query on PATH says what is
// installed; the script runs as nobody, who has no sudo, so nothing is ever installed here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { REPO } from '../helpers/cli.js';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const isDebian = /^ID=debian$/m.test(readFileSync('/etc/os-release', 'utf8'));
const canBeNobody = process.getuid?.() === 0 && spawnSync('setpriv', [...NOBODY, 'true']).status === 0;
// A checkout under a private folder (/root, `mktemp -d`: mode 0700) is out of nobody's reach.
const nobodyReads = canBeNobody && spawnSync('setpriv', [...NOBODY, 'test', '-r', join(REPO, 'scripts', 'test-prereqs.mjs')]).status === 0;
const SKIP =
  (!isDebian && 'a Debian row is asserted') ||
  (!canBeNobody && 'needs root and setpriv (runs as nobody)') ||
  (!nobodyReads && `nobody cannot read this checkout (${REPO}: a folder on its path is private), so the script cannot run as nobody`);

describe('npm test installs what the tests need, or says in one line what is missing', { skip: SKIP }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-prereqs-'));
    await chmod(dir, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs the script as nobody with a dpkg-query that answers `installed` for every package. */
  async function prereqs(installed: boolean) {
    await writeFile(join(dir, 'dpkg-query'), installed ? '#!/bin/sh\nprintf "ii "\n' : '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    return spawnSync('setpriv', [...NOBODY, process.execPath, join(REPO, 'scripts', 'test-prereqs.mjs')], {
      encoding: 'utf8',
      env: { PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir },
      cwd: dir,
    });
  }

  it('nothing missing: exit 0, silent, no sudo asked', async () => {
    const r = await prereqs(true);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('missing packages, not root, no sudo: exit 1 and one line naming each package, why, and the install command', async () => {
    const r = await prereqs(false);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const line = lines[0]!;
    assert.match(line, /^talos-mac tests: not root and no passwordless sudo to install what the tests need; missing: /);
    for (const p of ['qemu-system-ppc', 'qemu-utils', 'seabios', 'ipxe-qemu', '7zip', 'gcc', 'util-linux', 'strace', 'e2fsprogs', 'iproute2']) assert.match(line, new RegExp(`missing: .*\\b${p}\\b.*Install them: sudo apt-get install .*\\b${p}\\b`), p);
    assert.match(line, /seabios, ipxe-qemu, qemu-system-gui \(QEMU with its firmware, ROMs and GUI module\), xorriso \(demo, share\), 7zip \(files, media check\), rclone \(share --live \(WebDAV\)\), gcc \(stand-in kernel modules\)/);
    assert.match(line, /Install them: sudo apt-get install qemu-system-ppc .*strace.*, then run npm test again\.$/);
  });
});
