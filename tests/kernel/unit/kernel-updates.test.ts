import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { compareDebVersions } from '../../../src/kernel/deb-version.js';
import { hookScript } from '../../../src/kernel/hook.js';
import { newerImages, rebuildLocalVersion, upstreamOfDebVersion } from '../../../src/kernel/updates.js';
import { readModinfo } from '../../../src/kernel/vermagic.js';
import { entryPathFor, grubCfgDefault, parseGrubMenu, resolveDefault } from '../../../src/parse/grub-menu.js';
import type { Provenance } from '../../../src/kernel/provenance.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const SNAPSHOTS = join(REPO, 'tests', 'fixtures', 'snapshots');

// Real kernel package versions (Debian 12's linux 6.1.192-3, trixie's 6.12.113+deb13, backports
// "~bpo12+1") and the corner cases deb-version(7) names: "~" before everything, epochs, letters
// before non-letters, leading zeros, a missing revision.
const PAIRS: [string, string][] = [
  ['6.1.192-3', '6.1.194-1'],
  ['6.1.192-3', '6.1.192-3'],
  ['6.1.192-3', '6.1.192-10'],
  ['6.12.113-1', '6.12.113+deb13-1'],
  ['6.12.38-1~bpo12+1', '6.12.38-1'],
  ['6.1.192-3', '6.12.38-1~bpo12+1'],
  ['6.1.192-talosmac-1', '6.1.192-3'],
  ['1:6.1-1', '6.12-1'],
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0a', '1.0+'],
  ['1.0a', '1.0'],
  ['1.001', '1.1'],
  ['1.0', '1.0-0'],
  ['2.30-1', '2.3-1'],
  ['7.2+dfsg-7+deb12u13', '7.2+dfsg-7+deb12u2'],
  ['0:1.2', '1.2'],
  ['1.2-a', '1.2-A'],
];

describe('Debian version order', () => {
  test('agrees with dpkg --compare-versions on every pair, both ways', { skip: !existsSync('/usr/bin/dpkg') && 'needs dpkg' }, () => {
    for (const [a, b] of PAIRS) {
      for (const [x, y] of [[a, b], [b, a]] as const) {
        const dpkg = (op: string) => spawnSync('dpkg', ['--compare-versions', x, op, y]).status === 0;
        const want = dpkg('lt') ? -1 : dpkg('eq') ? 0 : 1;
        assert.equal(Math.sign(compareDebVersions(x, y)), want, `${x} vs ${y}: dpkg says ${want}`);
      }
    }
  });
  test('the upstream version of a kernel package version', () => {
    assert.deepEqual(upstreamOfDebVersion('6.1.192-3'), [6, 1, 192]);
    assert.deepEqual(upstreamOfDebVersion('6.12.38-1~bpo12+1'), [6, 12, 38]);
    assert.equal(upstreamOfDebVersion('garbage'), undefined);
  });
  test('newer images: only distribution kernels newer than what the record was built from, newest first', () => {
    const p = { source: { origin: '/usr/src/linux-source-6.1.tar.xz', upstream: '6.1.192', package: { name: 'linux-source-6.1', version: '6.1.192-3' } }, configFrom: { release: '6.1.0-57-powerpc64le', path: '' } } as unknown as Provenance;
    const images = [
      { name: 'linux-image-6.1.0-57-powerpc64le', release: '6.1.0-57-powerpc64le', version: '6.1.192-3' },
      { name: 'linux-image-6.1.0-58-powerpc64le', release: '6.1.0-58-powerpc64le', version: '6.1.194-1' },
      { name: 'linux-image-6.12.38+bpo-powerpc64le', release: '6.12.38+bpo-powerpc64le', version: '6.12.38-1~bpo12+1' },
      { name: 'linux-image-6.1.194-talosmac', release: '6.1.194-talosmac', version: '6.1.194-talosmac-1' },
    ];
    assert.deepEqual(newerImages(p, images, '-talosmac').map((i) => i.release), ['6.12.38+bpo-powerpc64le', '6.1.0-58-powerpc64le']);
  });
});

describe('grub.cfg: the default entry as GRUB and Petitboot read it', () => {
  test('the box grub.cfg (written by Debian 12 update-grub in the POWER9 box): default 0 is the first entry', async () => {
    const cfg = await readFile(join(SNAPSHOTS, 'box-pr-6.1-hash-ready', 'boot', 'grub', 'grub.cfg'), 'utf8');
    const menu = parseGrubMenu(cfg);
    const d = grubCfgDefault(cfg, undefined);
    assert.equal(d.saved, false);
    assert.equal(resolveDefault(menu, d.value)?.release, '6.1.192-talosmac');
  });
  test('saved_entry with a submenu path; an index into the submenu; a title; one that names nothing', async () => {
    const dir = join(SNAPSHOTS, 'varied-update-default-switched', 'boot', 'grub');
    const cfg = await readFile(join(dir, 'grub.cfg'), 'utf8');
    const env = await readFile(join(dir, 'grubenv'), 'utf8');
    const menu = parseGrubMenu(cfg);
    const d = grubCfgDefault(cfg, env);
    assert.equal(d.saved, true);
    assert.equal(resolveDefault(menu, d.value)?.release, '6.1.0-58-powerpc64le');
    assert.equal(resolveDefault(menu, '1>2')?.release, '6.1.0-58-powerpc64le');
    assert.equal(resolveDefault(menu, 'Debian GNU/Linux')?.release, '6.1.192-talosmac');
    assert.equal(resolveDefault(menu, 'no such entry'), undefined);
    // An empty or missing saved_entry boots the first entry.
    assert.equal(grubCfgDefault(cfg, '# GRUB Environment Block\n').value, '0');
    // The per-kernel entry in the submenu, not the "simple" one that follows the newest kernel.
    assert.equal(entryPathFor(menu, '6.1.192-talosmac'), 'gnulinux-advanced-0f0e0d0c-0b0a-4908-8706-050403020100>gnulinux-6.1.192-talosmac-advanced-0f0e0d0c-0b0a-4908-8706-050403020100');
    assert.equal(resolveDefault(menu, entryPathFor(menu, '6.1.192-talosmac')!)?.release, '6.1.192-talosmac');
  });
});

test('the real kvm-pr.ko built in the POWER9 box says which release it is for', async () => {
  const ko = await readFile(join(REPO, 'tests', 'fixtures', 'kernel', 'kvm-pr-6.1.192-talosmac.ko'));
  assert.match(readModinfo(ko).get('vermagic') ?? '', /^6\.1\.192-talosmac SMP /);
});

describe('the kernel hook (/etc/kernel/postinst.d/zz-talos-mac) run by a POSIX shell', () => {
  const shells = ['/bin/sh', '/usr/bin/dash'].filter((s) => existsSync(s));
  for (const shell of shells) {
    test(`${shell}: notes the release it is given, says one line, exits 0; ignores talos-mac's own kernels and no argument`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'talos-mac-hook-'));
      try {
        const state = join(dir, 'var', 'lib', 'talos-mac', 'rebuild-needed');
        const hook = join(dir, 'zz-talos-mac');
        await writeFile(hook, hookScript({ suffix: '-talosmac', stateFile: state }));
        await chmod(hook, 0o755);
        // As Debian's linux-image postinst runs it: run-parts --arg=$version --arg=$image_path.
        const run = (...args: string[]) => spawnSync(shell, [hook, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
        const r = run('6.1.0-58-powerpc64le', '/boot/vmlinux-6.1.0-58-powerpc64le');
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1);
        assert.match(r.stderr, /Linux 6\.1\.0-58-powerpc64le installed; run 'talos-mac setup'/);
        assert.equal(await readFile(state, 'utf8'), '6.1.0-58-powerpc64le\n');
        assert.equal(run('6.1.194-talosmac', '/boot/vmlinux-6.1.194-talosmac').status, 0);
        assert.equal(run().status, 0);
        assert.equal(run('6.12.38+bpo-powerpc64le', '/boot/vmlinux-6.12.38+bpo-powerpc64le').status, 0);
        assert.equal(await readFile(state, 'utf8'), '6.1.0-58-powerpc64le\n6.12.38+bpo-powerpc64le\n');
        // Never fails the package transaction, even when it cannot write its note.
        await rm(join(dir, 'var'), { recursive: true });
        await writeFile(join(dir, 'var'), 'a file where the directory should be');
        const blocked = run('6.1.0-59-powerpc64le', '/boot/vmlinux-6.1.0-59-powerpc64le');
        assert.equal(blocked.status, 0);
        assert.match(blocked.stderr, /run 'talos-mac setup'/);
        assert.equal(blocked.stderr.trim().split('\n').length, 1, blocked.stderr);
        const syntax = spawnSync(shell, ['-n', hook]);
        assert.equal(syntax.status, 0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('a rebuild never replaces the talos-mac kernel that works now', () => {
  test('a new upstream keeps the plain suffix; the same upstream (a Debian revision update) gets -2, -3, … and dpkg orders it newer', () => {
    assert.equal(rebuildLocalVersion([6, 1, 194], '-talosmac', ['6.1.192-talosmac']), '-talosmac');
    assert.equal(rebuildLocalVersion([6, 1, 192], '-talosmac', ['6.1.192-talosmac']), '-2-talosmac');
    assert.equal(rebuildLocalVersion([6, 1, 192], '-talosmac', ['6.1.192-talosmac', '6.1.192-2-talosmac']), '-3-talosmac');
    assert.equal(rebuildLocalVersion(undefined, '-talosmac', ['6.1.192-talosmac']), '-talosmac');
    assert.ok(compareDebVersions('6.1.192-2-talosmac', '6.1.192-talosmac') > 0);
    assert.ok(compareDebVersions('6.1.192-3-talosmac', '6.1.192-2-talosmac') > 0);
  });
});
