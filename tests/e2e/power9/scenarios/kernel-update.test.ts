// Issue 14 in the box: on talos-mac's PR kernel (hash MMU), a newer distribution kernel package is
// installed with the box's real dpkg: the kernel hook setup installed notes it, doctor's verdict
// flips (security fixes waiting), and setup's plan rebuilds from the new kernel's configuration.
// What is not real here: the "newer" kernel package holds Debian 12's real config of
// 6.1.0-57-powerpc64le under the name 6.1.0-58 and version 6.1.194-1 (no such release exists yet),
// and linux-source-6.1 6.1.194-1 is a stand-in package (no source in it): the rebuild itself
// (hours for a whole kernel) is planned, not run. The record of what the box's kernel was built
// from is seeded as buildNewKernel writes it: the box's kernel comes from buildKernelImage outside
// the box, not from a packaged install inside it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { DoctorReportSchema, type DoctorReport } from '../../../../src/doctor/report-schema.js';
import { hookScript } from '../../../../src/kernel/hook.js';
import type { Provenance } from '../../../../src/kernel/provenance.js';
import { KERNELS } from '../kernels.js';
import { bootBox, cmd, type BoxResults } from '../lib/box.js';
import { buildDeb } from '../lib/deb.js';
import { freshRoot, hostFiles } from '../lib/host.js';
import { BOX_MODULES, PR_SOURCE, prKernelSkip } from '../lib/pr-kernel.js';
import { readReduction } from '../../../../src/kernel/reduce.js';
import { userland } from '../lib/userland.js';
import { check } from '../verdicts.js';
import { LiveHost } from '../../../../src/host/live-host.js';

const missing = await prKernelSkip(KERNELS.debian12.fetch);
const row = KERNELS.pr;
const NEWER = '6.1.0-58-powerpc64le';
const NEWER_VERSION = '6.1.194-1';
const doctorOf = (r: BoxResults, name: string): DoctorReport => DoctorReportSchema.parse(JSON.parse(r.command(name).stdout));

/**
 * The part of linux-image-6.1.0-57-powerpc64le's postinst that runs the hooks (read from the real
 * package), with one change: debianutils' run-parts by its path. The box's /bin/sh is busybox ash,
 * which runs its own applets ahead of PATH (seen here: its run-parts refused --report, its dpkg
 * printed "Unpacking X (from Y)" and ran no postinst); on Debian /bin/sh is dash. For the same
 * reason the scenario runs /usr/bin/dpkg by its path.
 */
const postinst = (version: string) => `#!/bin/sh -e
version=${version}
image_path=/boot/vmlinux-$version
if [ "$1" != configure ]; then
    exit 0
fi
depmod $version
if [ -d /etc/kernel/postinst.d ]; then
    DEB_MAINT_PARAMS="$*" /bin/run-parts --report --exit-on-error --arg=$version \\
          --arg=$image_path /etc/kernel/postinst.d
fi
exit 0
`;

describe('kernel updates in the box (issue 14)', { skip: missing ?? false }, () => {
  test('a newer distribution kernel package: the hook notes it, doctor flips to "security fixes waiting", setup plans the rebuild', async () => {
    const kernel = await row.fetch();
    const stock = await KERNELS.debian12.fetch();
    const root = await freshRoot('kernel-update', row, kernel, { grub: true });
    const provenance: Provenance = {
      format: 'talos-mac-kernel',
      version: 1,
      release: kernel.release,
      builtAt: new Date().toISOString(),
      configFrom: { release: stock.release, path: `/boot/config-${stock.release}`, package: { name: `linux-image-${stock.release}`, version: '6.1.192-3' } },
      source: { origin: PR_SOURCE, upstream: kernel.release.replace(/-talosmac$/, ''), package: { name: 'linux-source-6.1', version: '6.1.192-3' } },
      localVersion: '-talosmac',
      edits: [
        { op: 'module', key: 'CONFIG_KVM_BOOK3S_64_PR', why: 'KVM-PR' },
        { op: 'disable', key: 'CONFIG_NO_HZ_FULL', why: 'CONTEXT_TRACKING_USER' },
        { op: 'set-str', key: 'CONFIG_LOCALVERSION', value: '-talosmac', why: 'LOCALVERSION' },
      ],
      // As the box's kernel was built (lib/pr-kernel.ts): reduced to the box's module list.
      reduce: await readReduction(BOX_MODULES, new LiveHost()),
      packages: [`linux-image-${kernel.release}`],
    };
    root.seed(`var/lib/talos-mac/kernels/${kernel.release}.json`, JSON.stringify(provenance, null, 2) + '\n');
    const image = await buildDeb({
      name: `linux-image-${NEWER}`,
      version: NEWER_VERSION,
      description: 'talos-mac e2e: a newer Debian kernel package (Debian 12 stock config; holds no kernel)',
      files: { [`/boot/config-${NEWER}`]: await readFile(stock.config, 'utf8'), [`/lib/modules/${NEWER}/modules.order`]: '' },
      postinst: postinst(NEWER),
    });
    const source = await buildDeb({ name: 'linux-source-6.1', version: NEWER_VERSION, description: 'talos-mac e2e stand-in for linux-source-6.1 (holds no source)', files: { '/usr/share/talos-mac-e2e/linux-source-6.1': 'a stand-in\n' } });
    const r = await bootBox({
      label: 'kernel update',
      kernel,
      cmdline: 'disable_radix',
      userland: await userland('bookworm'),
      root,
      files: [
        ...(await hostFiles(row)),
        { path: 'var/lib/dpkg/status', type: 'file', data: '' },
        { path: 'box/image.deb', type: 'file', data: image },
        { path: 'box/source.deb', type: 'file', data: source },
      ],
      script: [
        'mkdir -p /dev/pts && mount -t devpts devpts /dev/pts',
        cmd('setup-hook', ['talos-mac', 'setup', '--yes', '--no-guest', '--no-demo', '--without-live-share', '--kernel-hook']),
        cmd('hook', ['cat', '/etc/kernel/postinst.d/zz-talos-mac']),
        cmd('doctor-before', ['talos-mac', 'doctor', '--json']),
        cmd('install-image', ['/usr/bin/dpkg', '-i', '/box/image.deb']),
        cmd('noted', ['cat', '/var/lib/talos-mac/rebuild-needed']),
        cmd('update-grub', ['update-grub']),
        cmd('doctor-no-source', ['talos-mac', 'doctor', '--json']),
        cmd('install-source', ['/usr/bin/dpkg', '-i', '/box/source.deb']),
        cmd('doctor-after', ['talos-mac', 'doctor', '--json']),
        cmd('plan', ['talos-mac', 'setup', '--dry-run', '--no-guest']),
        cmd('plan-build', ['talos-mac', 'setup', '--dry-run', '--no-guest', '--build-kernel']),
        cmd('undo', ['talos-mac', 'setup', '--undo', '--yes']),
        cmd('hook-gone', ['ls', '/etc/kernel/postinst.d']),
      ],
    });
    const ok = (name: string) => {
      const c = r.command(name);
      assert.equal(c.code, 0, `${name}: ${c.stdout}${c.stderr}`);
      return c;
    };
    ok('setup-hook');
    assert.equal(ok('hook').stdout, hookScript({ suffix: '-talosmac' }));

    const before = doctorOf(r, 'doctor-before');
    assert.equal(check(before, 'kernel.running-talosmac').state, 'done');
    assert.match(check(before, 'kernel.running-talosmac').summary, new RegExp(`running talos-mac's ${kernel.release.replace(/[.+]/g, '\\$&')} \\(built from linux-source-6\\.1 6\\.1\\.192-3\\)`));
    assert.equal(check(before, 'kernel.distro-newer').state, 'done', check(before, 'kernel.distro-newer').summary);
    assert.equal(check(before, 'kernel.default-entry').state, 'done');
    assert.equal(check(before, 'kernel.update-hook').state, 'done');

    // Real dpkg ran the package's postinst, which ran the hook through run-parts.
    const installed = ok('install-image');
    assert.match(installed.stderr + installed.stdout, new RegExp(`talos-mac: Linux ${NEWER} installed; run 'talos-mac setup'`));
    assert.equal(ok('noted').stdout, `${NEWER}\n`);

    const noSource = check(doctorOf(r, 'doctor-no-source'), 'kernel.distro-newer');
    assert.equal(noSource.state, 'todo');
    assert.match(noSource.summary, new RegExp(`${NEWER} \\(6\\.1\\.194-1\\) is newer than linux-source-6\\.1 6\\.1\\.192-3`));
    assert.match(noSource.fix?.commands.join('\n') ?? '', /apt-get install --only-upgrade linux-source-6\.1/);

    const after = doctorOf(r, 'doctor-after');
    const newer = check(after, 'kernel.distro-newer');
    assert.equal(newer.state, 'todo');
    assert.equal(newer.status, 'warn');
    assert.deepEqual(newer.fix?.commands, ['talos-mac setup --build-kernel']);
    assert.match(newer.detail ?? '', new RegExp(`the kernel hook recorded: ${NEWER}`));
    // update-grub (Debian's order: sort -V) keeps the talos-mac kernel first: the default entry is still right.
    assert.equal(check(after, 'kernel.default-entry').state, 'done', check(after, 'kernel.default-entry').summary);
    assert.equal(after.ok, true);

    assert.match(ok('plan').stdout, /Rebuild talos-mac's kernel from the distribution's newer kernel: .*\(setup does it only when asked: add --build-kernel\)/);
    assert.match(ok('plan-build').stdout, new RegExp(`would: rebuild the KVM-PR kernel as 6\\.1\\.194-talosmac from /boot/config-${NEWER} \\(the distribution's 6\\.1\\.194-1\\) with the same changes and the same reduction to the modules of ${BOX_MODULES.replace(/[.+]/g, '\\$&')}`));

    const undo = ok('undo');
    assert.match(undo.stdout, /remove \/etc\/kernel\/postinst\.d\/zz-talos-mac/);
    assert.doesNotMatch(ok('hook-gone').stdout, /zz-talos-mac/);
  });
});
