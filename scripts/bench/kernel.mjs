// Issue 5: building only arch/powerpc/kvm (modules_prepare + M=) against building all modules
// (`make modules`, which with MODVERSIONS also builds vmlinux), on
// the same tree and configuration, cross-compiled for ppc64le with -j = CPUs - 1 under nice.
// The configuration is the PR kernel fixture slimmed (big subsystems off) so the slow side fits
// in minutes on 2 cores; both sides use the same slimmed config. Needs linux-source-6.1 and
// gcc-powerpc64le-linux-gnu; reports "skipped" without them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const CROSS = 'powerpc64le-linux-gnu-';
/** Big subsystems switched off so that building everything fits in minutes (also used by tests/kernel/e2e). */
export const SLIM_OFF = [
  'NETFILTER', 'DRM', 'SOUND', 'WLAN', 'WIRELESS', 'CFG80211', 'INFINIBAND', 'MEDIA_SUPPORT', 'BT', 'FB', 'NFS_FS',
  'CIFS', 'XFS_FS', 'BTRFS_FS', 'MD', 'DEBUG_INFO', 'FTRACE', 'KPROBES', 'USB_SUPPORT', 'HID', 'SCSI_LOWLEVEL', 'NET_VENDOR_MELLANOX',
  'NET_VENDOR_CHELSIO', 'NET_VENDOR_BROADCOM', 'NET_VENDOR_INTEL', 'IPV6', 'CRYPTO_DEV_NX', 'BPF_SYSCALL',
];

function run(argv, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('nice', ['-n', '10', ...argv], { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${String(r.stderr).split('\n').slice(-15).join('\n')}`);
  return s;
}

export default async function kernel() {
  const title = 'kernel: kvm-pr module-only build vs all modules (2018 recipe), ppc64le cross';
  if (!existsSync(TARBALL) || !existsSync(`/usr/bin/${CROSS}gcc`)) {
    return { title, rows: [['skipped', '-', `needs ${TARBALL} and ${CROSS}gcc (apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu)`]] };
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const { extractTarball } = await import(join(root, 'dist/src/kernel/source.js'));
  const { linkedCopy, defaultJobs } = await import(join(root, 'dist/src/kernel/kbuild.js'));
  const cacheDir = process.env.TALOS_MAC_KERNEL_TEST_CACHE ?? join(tmpdir(), 'talos-mac-kernel-test-cache');
  const src = await extractTarball(TARBALL, cacheDir);
  const jobs = defaultJobs();
  const mk = (tree, ...targets) => ['make', '-C', tree, `-j${jobs}`, 'ARCH=powerpc', `CROSS_COMPILE=${CROSS}`, ...targets];

  const trees = {};
  for (const name of ['module-only', 'all-modules']) {
    const tree = join(cacheDir, 'bench', name);
    rmSync(tree, { recursive: true, force: true });
    await linkedCopy(src.dir, tree);
    writeFileSync(join(tree, '.config'), readFileSync(join(root, 'tests/fixtures/kernel/pr-kernel-6.1.176.config')));
    run([join(tree, 'scripts/config'), '--file', join(tree, '.config'), ...SLIM_OFF.flatMap((k) => ['--disable', k])]);
    run(mk(tree, 'olddefconfig'));
    trees[name] = tree;
  }
  const cfg = readFileSync(join(trees['module-only'], '.config'), 'utf8');
  if (!/^CONFIG_KVM_BOOK3S_64_PR=m$/m.test(cfg)) throw new Error('slimmed config lost KVM_BOOK3S_64_PR=m');
  const moduleCount = (cfg.match(/=m$/gm) ?? []).length;

  const prepare = run(mk(trees['module-only'], 'modules_prepare'));
  const only = run(mk(trees['module-only'], 'M=arch/powerpc/kvm', 'modules'));
  const all = run(mk(trees['all-modules'], 'modules'));
  for (const name of Object.keys(trees)) rmSync(trees[name], { recursive: true, force: true });
  const s = (x) => `${x.toFixed(0)} s`;
  return {
    title,
    rows: [
      ['modules_prepare', s(prepare)],
      ['M=arch/powerpc/kvm modules', s(only)],
      ['module-only total', s(prepare + only), `-j${jobs}, nice 10`],
      ['make modules (2018 recipe)', s(all), `${moduleCount} modules + vmlinux (MODVERSIONS)`],
      ['ratio', `${(all / (prepare + only)).toFixed(1)}×`, 'all modules / module-only'],
    ],
  };
}
