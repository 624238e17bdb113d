import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseKernelConfig } from '../../../src/parse/kconfig.js';
import { configDiff, missingKeyFileEdits, prEdits, scriptsConfigArgv } from '../../../src/kernel/config.js';
import { makeArgv, progressLine } from '../../../src/kernel/kbuild.js';
import { defaultJobs } from '../../../src/kernel/build-cost.js';
import { moduleDirVars } from '../../../src/kernel/module-build.js';
import { packagePlan } from '../../../src/kernel/new-kernel.js';
import { parsePatchHeader, versionInRange } from '../../../src/kernel/patches.js';
import { packagingRequirements, requirements } from '../../../src/kernel/preflight.js';
import { distroOf, installArgv } from '../../../src/distro/distro.js';
import { checksumFor, checkSourceMatches, kernelOrgUrls, parseTreeVersion, upstreamVersionFromUnameV } from '../../../src/kernel/source.js';
import { vermagicRelease } from '../../../src/kernel/vermagic.js';

const fixtures = fileURLToPath(new URL('../../../../tests/fixtures/kernel/', import.meta.url));

test('tree version from the top Makefile, with an empty EXTRAVERSION', () => {
  const mk = '# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = Curry Ramen\n';
  assert.deepEqual(parseTreeVersion(mk), { version: [6, 1, 192], text: '6.1.192' });
  assert.equal(parseTreeVersion('VERSION = 4\nPATCHLEVEL = 17\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n')?.text, '4.17.0-rc3');
  assert.equal(parseTreeVersion('all:\n'), undefined);
});

test('source must match the target kernel', () => {
  const tree = { version: [6, 1, 192] as [number, number, number], text: '6.1.192' };
  assert.equal(checkSourceMatches(tree, '6.1.192-talosmac'), undefined);
  assert.throws(() => checkSourceMatches(tree, '6.1.176'), /the tree is Linux 6\.1\.192 but the target kernel 6\.1\.176 is 6\.1\.176/);
  assert.throws(() => checkSourceMatches(tree, '6.12.0-1-powerpc64le'), /wrong kernel source/);
  // Debian hides the sublevel: accepted with a warning, unless uname -v told the real one.
  assert.match(checkSourceMatches(tree, '6.1.0-50-powerpc64le') ?? '', /cannot tell the exact upstream version/);
  assert.throws(() => checkSourceMatches(tree, '6.1.0-50-powerpc64le', [6, 1, 176]), /is 6\.1\.176/);
  assert.equal(checkSourceMatches(tree, '6.1.0-50-powerpc64le', [6, 1, 192]), undefined);
  assert.throws(() => checkSourceMatches(tree, 'custom'), /does not start with a kernel version/);
  // A new kernel only needs the same series: the running config is updated by olddefconfig.
  assert.equal(checkSourceMatches(tree, '6.1.0-50-powerpc64le', [6, 1, 176], 'series'), undefined);
  assert.throws(() => checkSourceMatches(tree, '6.12.0-1-powerpc64le', undefined, 'series'), /running configuration is for 6\.12/);
});

test("Debian's uname -v names the upstream version", () => {
  assert.deepEqual(upstreamVersionFromUnameV('#1 SMP Debian 6.1.176-1 (2026-06-01)'), [6, 1, 176]);
  assert.equal(upstreamVersionFromUnameV('#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023'), undefined);
});

test('make argv: -j, ARCH and CROSS_COMPILE from options, variables before targets', () => {
  assert.deepEqual(makeArgv(['modules'], { tree: '/t', jobs: 3, crossCompile: 'powerpc64le-linux-gnu-', vars: { M: 'arch/powerpc/kvm' } }), [
    'make', '-C', '/t', '-j3', 'ARCH=powerpc', 'CROSS_COMPILE=powerpc64le-linux-gnu-', 'M=arch/powerpc/kvm', 'modules',
  ]);
  assert.deepEqual(makeArgv(['olddefconfig'], { tree: '/t', jobs: 1 }), ['make', '-C', '/t', '-j1', 'olddefconfig']);
  assert.deepEqual([defaultJobs(1), defaultJobs(2), defaultJobs(32)], [1, 1, 31]);
});

test('SUBDIRS= up to 5.3, M= from 5.4', () => {
  assert.deepEqual(moduleDirVars([5, 3, 18]), { SUBDIRS: 'arch/powerpc/kvm' });
  assert.deepEqual(moduleDirVars([4, 14, 0]), { SUBDIRS: 'arch/powerpc/kvm' });
  assert.deepEqual(moduleDirVars([5, 4, 0]), { M: 'arch/powerpc/kvm' });
});

test('progress: the current make target from Kbuild quiet output', () => {
  assert.equal(progressLine('  CC [M]  arch/powerpc/kvm/book3s_pr.o'), 'CC [M] arch/powerpc/kvm/book3s_pr.o');
  assert.equal(progressLine('  HOSTCC  scripts/basic/fixdep'), 'HOSTCC scripts/basic/fixdep');
  assert.equal(progressLine('  LD [M]  arch/powerpc/kvm/kvm-pr.ko'), 'LD [M] arch/powerpc/kvm/kvm-pr.ko');
  assert.equal(progressLine("make[1]: Entering directory '/x'"), undefined);
  assert.equal(progressLine('WARNING: Module.symvers is missing.'), undefined);
});

test("PR edits for Debian's config: PR module, NO_HZ_FULL and GEN accounting off", async () => {
  const debian = parseKernelConfig(await readFile(join(fixtures, 'debian12-6.1.0-50-powerpc64le.config'), 'utf8'))!;
  const edits = prEdits(debian).map((e) => `${e.op} ${e.key}`);
  assert.deepEqual(edits, [
    'module KVM_BOOK3S_64_PR',
    'disable NO_HZ_FULL',
    'enable NO_HZ_IDLE',
    'disable VIRT_CPU_ACCOUNTING_GEN',
    'enable VIRT_CPU_ACCOUNTING_NATIVE',
  ]);
  const pr = parseKernelConfig(await readFile(join(fixtures, 'pr-kernel-6.1.176.config'), 'utf8'))!;
  assert.deepEqual(prEdits(pr).map((e) => e.key), ['KVM_BOOK3S_64_PR']);
  assert.deepEqual(scriptsConfigArgv('/t', [{ op: 'set-str', key: 'LOCALVERSION', value: '-x', why: '' }, { op: 'module', key: 'KVM_BOOK3S_64_PR', why: '' }]), [
    '/t/scripts/config', '--file', '/t/.config', '--set-str', 'LOCALVERSION', '-x', '--module', 'KVM_BOOK3S_64_PR',
  ]);
});

test('distro certificate paths missing from the tree are emptied', async () => {
  const ubuntuLike = parseKernelConfig('CONFIG_SYSTEM_TRUSTED_KEYS="debian/canonical-certs.pem"\nCONFIG_SYSTEM_REVOCATION_KEYS=""\n')!;
  const edits = await missingKeyFileEdits(ubuntuLike, '/nonexistent-tree');
  assert.deepEqual(edits.map((e) => [e.key, e.op === 'set-str' ? e.value : '?']), [['SYSTEM_TRUSTED_KEYS', '']]);
});

test('config diff treats absent and "is not set" alike', () => {
  const a = parseKernelConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n')!;
  const b = parseKernelConfig('CONFIG_A=y\nCONFIG_C=y\nCONFIG_D=y\n')!;
  assert.deepEqual(configDiff(a, b), [
    { key: 'CONFIG_C', before: 'm', after: 'y' },
    { key: 'CONFIG_D', before: 'n', after: 'y' },
  ]);
});

test('patch headers and version ranges', async () => {
  const p = parsePatchHeader(await readFile(join(fixtures, 'patches', 'build-error.patch'), 'utf8'), '/x/build-error.patch');
  assert.equal(p.name, 'build-error');
  assert.equal(p.versions, '>=6.1 <6.2');
  assert.equal(p.apply, 'optional');
  assert.ok(versionInRange([6, 1, 192], p.versions));
  assert.ok(!versionInRange([6, 2, 0], p.versions));
  assert.ok(versionInRange([4, 17, 0], '*'));
  assert.ok(versionInRange([4, 17, 0], '<=4.17'));
  assert.throws(() => versionInRange([4, 17, 0], 'around 4.17'), /bad version range/);
  assert.throws(() => parsePatchHeader('# What: x\n--- a/f\n+++ b/f\n', 'p'), /Versions/);
  assert.throws(() => parsePatchHeader('# What: x\n# Versions: *\n# Source: y\nno diff here\n', 'p'), /no unified diff/);
});

test('packages per distribution', () => {
  const os = (...kv: [string, string][]) => distroOf(new Map(kv));
  const deb = os(['ID', 'debian'], ['VERSION_ID', '12']);
  const fedora = os(['ID', 'fedora']);
  assert.equal(deb.id, 'debian-12');
  assert.equal(os(['ID', 'ubuntu'], ['ID_LIKE', 'debian']).packages?.program, 'apt-get');
  assert.equal(os(['ID', 'almalinux'], ['ID_LIKE', 'rhel centos fedora']).packages?.program, 'dnf');
  assert.equal(os(['ID', 'opensuse-tumbleweed'], ['ID_LIKE', 'opensuse suse']).packages?.program, 'zypper');
  const cross = requirements(deb, 'powerpc64le-linux-gnu-').at(-1)!;
  assert.equal(cross.package, 'gcc-powerpc64le-linux-gnu');
  assert.equal(requirements(fedora, 'powerpc64le-linux-gnu-').at(-1)!.package, 'gcc-powerpc64le-linux-gnu');
  assert.equal(requirements(fedora).find((r) => r.what === 'libelf headers')!.package, 'elfutils-libelf-devel');
  assert.deepEqual(installArgv(fedora, ['bc']), ['dnf', 'install', '-y', 'bc']);
  assert.deepEqual(packagingRequirements(deb).map((r) => r.package), ['dpkg-dev', 'fakeroot', 'rsync', 'cpio', 'kmod', 'debhelper']);
  assert.deepEqual(packagingRequirements(fedora).map((r) => r.package), ['rpm-build']);
  assert.deepEqual(packagePlan(deb).target, ['bindeb-pkg']);
  assert.deepEqual(packagePlan(fedora).target, ['binrpm-pkg']);
  assert.deepEqual(packagePlan(os(['ID', 'chimera'])).target, ['all']);
  assert.deepEqual(packagePlan(os(['ID', 'gentoo'])).target, ['all']);
});

test('kernel.org URLs and checksum lists', () => {
  assert.deepEqual(kernelOrgUrls('6.1.176'), {
    tarball: 'https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.1.176.tar.xz',
    sums: 'https://cdn.kernel.org/pub/linux/kernel/v6.x/sha256sums.asc',
    file: 'linux-6.1.176.tar.xz',
  });
  const sums = `-----BEGIN PGP SIGNED MESSAGE-----\n${'a'.repeat(64)}  linux-6.1.175.tar.xz\n${'b'.repeat(64)}  linux-6.1.176.tar.xz\n`;
  assert.equal(checksumFor(sums, 'linux-6.1.176.tar.xz'), 'b'.repeat(64));
  assert.equal(checksumFor(sums, 'linux-6.1.177.tar.xz'), undefined);
});

test('vermagic release is its first word', () => {
  assert.equal(vermagicRelease('6.1.0-50-powerpc64le SMP mod_unload modversions '), '6.1.0-50-powerpc64le');
});
