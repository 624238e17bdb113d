// Issue 24: a PR kernel built by talos-mac's own pipeline from a Debian kernel source package —
// unstable's linux-source-7.2 by default, or the package TALOS_E2E_KERNEL_SOURCE names (the watch
// for the next kernel: e.g. experimental's linux-source-7.3) — with its suite's stock config (Debian
// unstable's split packages: /usr/lib/modules/REL/config), reduced to the box's modules, cross-built
// with this machine's GCC (the build-machine differences accepted and printed) and packaged by make
// bindeb-pkg as talos-mac packages kernels for Debian. The box installs that package with apt-get,
// boots it on a Debian unstable host with 4K pages, and runs the PR journey under KVM-PR.
//
// Its cold build (tens of minutes on 2 cores) does not fit CI's budget: without the variable it runs
// only when this machine has built that kernel before (the cache is warm), and says so.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { sourceKernelRow } from '../kernels.js';
import { cmd } from '../lib/box.js';
import { log } from '../lib/cache.js';
import { run } from '../lib/run.js';
import { sourcePrCold } from '../lib/pr-kernel.js';
import { doctorOf, prJourney } from '../lib/pr-journey.js';
import { demoDisk } from '../lib/pr-scenario.js';
import { userland } from '../lib/userland.js';
import { check } from '../verdicts.js';

const asked = process.env.TALOS_E2E_KERNEL_SOURCE;
const row = sourceKernelRow(asked ?? 'linux-source-7.2');
const cold = asked ? undefined : await sourcePrCold(row.package);
if (cold) log(`${row.id}: skipped: ${cold}; its cold build does not fit CI's budget — run it with TALOS_E2E_KERNEL_SOURCE=${row.package} npm run test:power9:kernel-source`);
const DEB_DIR = '/opt/kernel';

describe(`PR kernel from Debian's ${row.package} (issue 24)`, { skip: cold ? `${cold} (TALOS_E2E_KERNEL_SOURCE=${row.package} builds it)` : false }, () => {
  test(`${row.package}: talos-mac's pipeline with unstable's config reduced, KVM-PR kept, 4K pages, the build-machine differences named, packaged by bindeb-pkg`, async () => {
    const k = await row.fetch();
    const config = await readFile(k.config, 'utf8');
    assert.match(config, /^CONFIG_KVM_BOOK3S_64_PR=m$/m);
    assert.match(config, /^# CONFIG_NO_HZ_FULL is not set$/m);
    assert.match(config, /^# CONFIG_VIRT_CPU_ACCOUNTING_GEN is not set$/m);
    assert.match(config, /^CONFIG_PPC_4K_PAGES=y$/m, '4K pages, as Debian\'s own kernel');
    assert.match(await readFile(k.stock.config, 'utf8'), /^CONFIG_PPC_4K_PAGES=y$/m);
    const groups = k.image.configured.groups;
    log(`${row.id}: build-machine differences accepted: ${groups.buildMachine.map((c) => `${c.key.replace(/^CONFIG_/, '')} ${c.before}->${c.after}`).join(', ')}`);
    assert.ok(groups.buildMachine.length > 0, 'GCC 12 here vs the distribution\'s GCC 16 changes choices');
    assert.ok(groups.toolchain.some((c) => c.key === 'CONFIG_GCC_VERSION'), 'the compilers differ');
    // One linux-image package with /boot files and /lib/modules (Kbuild's builddeb), not Debian 14's split layout.
    const contents = (await run(['dpkg-deb', '-c', k.imageDeb])).stdout;
    for (const f of [`./boot/vmlinux-${k.release}`, `./boot/config-${k.release}`, `/modules/${k.release}/kernel/arch/powerpc/kvm/kvm-pr.ko`]) assert.ok(contents.includes(f), `${basename(k.imageDeb)} holds ${f}`);
    assert.ok(!contents.includes(`/usr/lib/modules/${k.release}/config`), 'no /usr/lib/modules/REL/config: the split layout is Debian\'s own packaging, not Kbuild\'s');
  });

  test(`${row.package}: apt-get installs the package, talos-mac finds its config, the PR journey runs under KVM-PR`, async (t) => {
    const disk = await demoDisk();
    if ('missing' in disk) {
      t.skip(disk.missing);
      return;
    }
    const k = await row.fetch();
    const deb = `${DEB_DIR}/${basename(k.imageDeb)}`;
    const { one, two } = await prJourney({
      label: `${row.id} journey`,
      row,
      kernel: k,
      userland: await userland('bookworm'),
      disk: disk.data,
      // The box's dpkg database starts empty (its userland is unpacked, not installed).
      files: [{ path: deb.slice(1), type: 'file', data: await readFile(k.imageDeb) }, { path: 'var/lib/dpkg/status', type: 'file', data: '' }],
      boot1: [
        'mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/apt/lists/partial /var/cache/apt/archives/partial',
        // As talos-mac installs a kernel it packaged (src/kernel/new-kernel.ts, Debian's apt-get line);
        // by path: the box's busybox sh runs its own applets ahead of PATH (kernel-update.test.ts).
        cmd('install', ['/usr/bin/apt-get', 'install', '-y', '--no-install-recommends', deb]),
        cmd('package-files', ['/usr/bin/dpkg', '-L', `linux-image-${k.release}`]),
        cmd('page-size', ['grep', '-m1', 'KernelPageSize', '/proc/self/smaps']),
      ],
    });
    const install = one.command('install');
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.match(one.command('package-files').stdout, new RegExp(`^/boot/config-${k.release.replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(one.command('page-size').stdout, /KernelPageSize:\s+4 kB/, 'the booted kernel uses 4K pages');
    log(`${row.id}: booted ${k.release}: ${one.command('page-size').stdout.trim()}`);
    // Debian 14 reads /usr/lib/modules/REL/config first (its layout); a Kbuild package has only /boot's.
    for (const r of [one, two]) assert.equal(check(doctorOf(r, 'doctor'), 'kernel.release').detail, `configuration: /boot/config-${k.release}`);
    assert.equal(doctorOf(two, 'doctor').verdict.kind, 'ready', doctorOf(two, 'doctor').verdict.text);
  });
});
