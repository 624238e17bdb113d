// Opt-in (TALOS_MAC_KERNEL_E2E=1, after boot-module.test, ~25 min on 2 cores): the new-kernel
// case end to end up to installation: configure, `make bindeb-pkg` cross-built for ppc64el, and
// the apt-get install of its package files that would install it (dry run: this x86 machine cannot boot it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { distroOf } from '../../../src/distro/distro.js';
import { buildNewKernel } from '../../../src/kernel/new-kernel.js';
import { PrivilegedRunner } from '../../../src/privileged/runner.js';
import { kernelPrSupport } from '../../../src/steps/checks/kernel.js';
import { CROSS, SOURCE_TARBALL, cacheDir, requireKernelToolchain } from '../pipeline/env.js';
import { LiveHost } from '../../../src/host/live-host.js';

const enabled = process.env['TALOS_MAC_KERNEL_E2E'] === '1';

test('new kernel: bindeb-pkg builds a ppc64el linux-image with kvm-pr.ko, installed with apt-get', { skip: !enabled && 'set TALOS_MAC_KERNEL_E2E=1', timeout: 120 * 60_000 }, async () => {
  requireKernelToolchain();
  // The slimmed PR configuration made by boot-module.test (a "running kernel" config that builds in minutes).
  const config = join(cacheDir, 'e2e', 'kernel', '.config');
  assert.ok(existsSync(config), `${config} is made by tests/kernel/e2e/boot-module.test: run that first`);
  const lines: string[] = [];
  const runner = new PrivilegedRunner({ dryRun: true, root: '/', out: (l) => lines.push(l), uid: 0, interactive: false, host: new LiveHost() });
  const costs: string[] = [];
  const r = await buildNewKernel({
    kernelSrc: SOURCE_TARBALL,
    config,
    release: '6.1.0-99-e2e-powerpc64le',
    crossCompile: CROSS,
    cacheDir,
    distro: distroOf(new Map([['ID', 'debian'], ['VERSION_ID', '12']])),
    runner,
    step: kernelPrSupport,
    host: new LiveHost(),
    ui: 'plain',
    onCost: (t) => costs.push(t),
  });
  assert.equal(r.release, '6.1.192-talosmac');
  assert.match(costs.join(''), /about 8 GB of free disk/);
  assert.equal(r.installed.length, 1);
  assert.deepEqual(lines, [`  would: $ ${r.installed[0]!.join(' ')}`, '  would: record what 6.1.192-talosmac was built from in /var/lib/talos-mac/kernels/6.1.192-talosmac.json']);
  const [cmd, verb, yes, norec, ...debs] = r.installed[0]!;
  assert.deepEqual([cmd, verb, yes, norec], ['apt-get', 'install', '-y', '--no-install-recommends']);
  const image = debs.find((d) => /\/linux-image-6\.1\.192-talosmac_.*_ppc64el\.deb$/.test(d));
  assert.ok(image, `no linux-image deb in ${debs.join(' ')}`);
  assert.equal(execFileSync('dpkg-deb', ['-f', image, 'Architecture'], { encoding: 'utf8' }).trim(), 'ppc64el');
  const files = execFileSync('dpkg-deb', ['-c', image], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.match(files, /\.\/lib\/modules\/6\.1\.192-talosmac\/kernel\/arch\/powerpc\/kvm\/kvm-pr\.ko/);
  console.log(r.installed[0]!.join(' '));
});
