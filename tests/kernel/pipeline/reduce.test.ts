// The reduction on the real Debian 12 config and linux-source-6.1, cross: make localmodconfig
// with a module list, then the KVM-PR edits, checked after olddefconfig.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { configValue } from '../../../src/parse/kconfig.js';
import { configureNewKernel } from '../../../src/kernel/new-kernel.js';
import { readReduction } from '../../../src/kernel/reduce.js';
import { CROSS, SOURCE_TARBALL, cacheDir, fixtures, repoRoot, requireKernelToolchain } from './env.js';
import { LiveHost } from '../../../src/host/live-host.js';

before(() => requireKernelToolchain());

const debian = join(fixtures, 'debian12-6.1.0-50-powerpc64le.config');
const count = (c: ReadonlyMap<string, string>, v: string) => [...c.values()].filter((x) => x === v).length;

test("reduced to a host's modules: KVM-PR and its config changes kept, those modules kept, thousands dropped and listed", { timeout: 15 * 60_000 }, async () => {
  // A test input, not a captured host: two modules whose options Debian builds as =m.
  const list = join(await mkdtemp(join(tmpdir(), 'reduce-')), 'lsmod');
  await writeFile(list, 'Module                  Size  Used by\nxfs                  2097152  1\ntun                    65536  0\n');
  const r = await configureNewKernel({ kernelSrc: SOURCE_TARBALL, config: debian, release: '6.1.0-50-powerpc64le', upstream: [6, 1, 176], crossCompile: CROSS, cacheDir, ui: () => {}, host: new LiveHost(), reduce: await readReduction(list, new LiveHost()) });
  assert.equal(configValue(r.after, 'CONFIG_KVM_BOOK3S_64_PR'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_KVM_BOOK3S_64'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_KVM_BOOK3S_64_HV'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_NO_HZ_FULL'), 'n');
  assert.equal(configValue(r.after, 'CONFIG_VIRT_CPU_ACCOUNTING_GEN'), 'n');
  assert.equal(configValue(r.after, 'CONFIG_CONTEXT_TRACKING_USER'), 'n');
  assert.equal(configValue(r.after, 'CONFIG_XFS_FS'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_TUN'), 'm');
  assert.equal(configValue(r.after, 'CONFIG_DEBUG_INFO'), 'n');
  // What booted Debian's kernel is built in and stays: the OPAL console, initramfs, devtmpfs.
  for (const k of ['CONFIG_HVC_OPAL', 'CONFIG_BLK_DEV_INITRD', 'CONFIG_DEVTMPFS']) assert.equal(configValue(r.after, k), 'y', k);
  const before = count(r.before, 'm');
  const after = count(r.after, 'm');
  console.log(`=m options: ${before} -> ${after}`);
  assert.ok(before > 2000 && after < 20, `${before} -> ${after}`);
  const d = r.dropped!;
  console.log(d.summary);
  assert.match(d.summary, /2 loaded modules, plus kvm, kvm_hv, kvm_pr/);
  assert.ok(d.modules.length > 2000 && d.modules.includes('CONFIG_BTRFS_FS'));
  assert.ok(!d.modules.includes('CONFIG_XFS_FS') && !d.modules.includes('CONFIG_KVM_BOOK3S_64_HV'));
  const listed = await readFile(d.listFile, 'utf8');
  assert.match(listed, /^ {2}CONFIG_BTRFS_FS: m -> n$/m);
  assert.match(await readFile(r.log, 'utf8'), /localmodconfig[\s\S]*CONFIG_BTRFS_FS: m -> n/);
});

test('the CLI: configure-kernel --reduce-modules prints the counts and where the list is', { timeout: 10 * 60_000 }, async () => {
  const box = join(repoRoot, 'tests', 'fixtures', 'snapshots', 'box-debian12-6.1-radix', 'proc', 'modules');
  const r = spawnSync(process.execPath, ['bin/talos-mac.js', 'kernel', 'configure-kernel', '--kernel-src', SOURCE_TARBALL, '--release', '6.1.0-50-powerpc64le',
    '--config', debian, '--cross', CROSS, '--cache-dir', cacheDir, '--reduce-modules', box], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /reduced to \S+proc\/modules \(0 loaded modules, plus kvm, kvm_hv, kvm_pr\): \d{4} modules -> [1-9]; dropped \d{4} module options/);
  assert.match(r.stdout, /dropped are listed in \S+dropped-options\.txt/);
  // The difference by cause, the signing decision and the cost (issue 15).
  assert.match(r.stdout, /^For KVM-PR \(5\):$/m);
  assert.match(r.stdout, /^Forced by those \(Kconfig select \/ depends on\) \(\d+\):$/m);
  assert.match(r.stdout, /^From the build machine, fixed: the tools the distribution built with are present \(0\):$/m);
  assert.match(r.stdout, /^Turned off by the reduction: \d{4} options/m);
  assert.match(r.stdout, /^Module signing: on, as in the running kernel/m);
  assert.match(r.stdout, /^About \d+ GB of disk and [\d.]+ (minutes|hours) with -j\d+ on \d+ CPUs? \(\d+ objects; /m);
  const json = spawnSync(process.execPath, ['bin/talos-mac.js', 'kernel', 'configure-kernel', '--kernel-src', SOURCE_TARBALL, '--release', '6.1.0-50-powerpc64le',
    '--config', debian, '--cross', CROSS, '--cache-dir', cacheDir, '--reduce-modules', box, '--json'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { groups: Record<string, { key: string }[]>; signing: { sign: boolean }; cost: { objects: number } };
  assert.deepEqual(doc.groups['kvmPr']!.map((c) => c.key), ['CONFIG_KVM_BOOK3S_64_PR', 'CONFIG_NO_HZ_FULL', 'CONFIG_NO_HZ_IDLE', 'CONFIG_VIRT_CPU_ACCOUNTING_GEN', 'CONFIG_VIRT_CPU_ACCOUNTING_NATIVE']);
  assert.equal(doc.signing.sign, true);
  assert.ok(doc.cost.objects > 0);
  const both = spawnSync(process.execPath, ['bin/talos-mac.js', 'kernel', 'configure-kernel', '--reduce-to-host', '--reduce-modules', box, '--config', debian, '--release', 'x'], { cwd: repoRoot, encoding: 'utf8' });
  assert.notEqual(both.status, 0);
  assert.match(both.stderr, /alternatives/);
});
