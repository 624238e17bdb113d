// End to end, opt-in (TALOS_MAC_KERNEL_E2E=1; ~15–30 min on 2 cores): a "distro" kernel is
// cross-built with a release string unrelated to the source version (like Debian's
// 6.1.0-50-powerpc64le from 6.1.x), then talos-mac's module-only pipeline builds kvm-pr for it
// from the same source, config and vmlinux.symvers, and the modules are loaded into that kernel
// booted under qemu-system-ppc64 -M powernv9 (hash MMU) with a busybox initramfs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractTarball } from '../../../src/kernel/source.js';
import { linkedCopy, makeArgv, runLogged, StageMarkers } from '../../../src/kernel/kbuild.js';
import { defaultJobs } from '../../../src/kernel/build-cost.js';
import { buildPrModule } from '../../../src/kernel/module-build.js';
import { assertVermagic } from '../../../src/kernel/vermagic.js';
import { runStages } from '../../../src/kernel/stages.js';
import { CROSS, SOURCE_TARBALL, cacheDir, fixtures, repoRoot, requireKernelToolchain } from '../pipeline/env.js';
import { LiveHost } from '../../../src/host/live-host.js';

const RELEASE = '6.1.0-99-e2e-powerpc64le';
const enabled = process.env['TALOS_MAC_KERNEL_E2E'] === '1';

/** newc cpio (what the kernel unpacks as initramfs): dirs, files and one device node. */
function cpio(entries: { name: string; mode: number; data?: Buffer; rdev?: [number, number] }[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }] as { name: string; mode: number; data?: Buffer; rdev?: [number, number] }[]) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const f = [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
    const header = Buffer.from(`070701${f.map((x) => x.toString(16).padStart(8, '0')).join('')}`);
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

async function ppc64elBusybox(dir: string): Promise<string> {
  const bin = join(dir, 'bb', 'bin', 'busybox');
  if (existsSync(bin)) return bin;
  const lists = join(dir, 'lists');
  await mkdir(join(lists, 'partial'), { recursive: true });
  const o = ['-oAPT::Architecture=ppc64el', '-oAPT::Architectures=ppc64el', `-oDir::State::Lists=${lists}`];
  // A mirror hiccup on one index makes update exit 100 while the main index is fine: the download decides.
  spawnSync('apt-get', [...o, 'update', '-q'], { stdio: 'ignore' });
  execFileSync('apt-get', [...o, 'download', 'busybox-static'], { cwd: dir, stdio: 'ignore' });
  const deb = (await readdir(dir)).find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'))!;
  execFileSync('dpkg', ['-x', join(dir, deb), join(dir, 'bb')]);
  return bin;
}

test('kvm-pr built by the module-only pipeline loads into its kernel (powernv9, hash MMU)', { skip: !enabled && 'set TALOS_MAC_KERNEL_E2E=1', timeout: 90 * 60_000 }, async () => {
  requireKernelToolchain();
  const dir = join(cacheDir, 'e2e');
  await mkdir(dir, { recursive: true });
  const { SLIM_OFF } = (await import(join(repoRoot, 'scripts/bench/kernel.mjs'))) as { SLIM_OFF: string[] };

  // The "distro" kernel: slimmed PR config, release forced like Debian's packaging does.
  const src = await extractTarball(SOURCE_TARBALL, cacheDir);
  const kernel = join(dir, 'kernel');
  const log = join(dir, 'kernel.log');
  const mk = (targets: string[]) => makeArgv(targets, { tree: kernel, crossCompile: CROSS, jobs: defaultJobs(), vars: { KERNELRELEASE: RELEASE } });
  await runStages(
    [
      { id: 'tree', title: 'link tree', resumable: true, run: () => linkedCopy(src.dir, kernel) },
      {
        id: 'config',
        title: 'configure',
        resumable: true,
        run: async () => {
          await writeFile(join(kernel, '.config'), await readFile(join(fixtures, 'pr-kernel-6.1.176.config')));
          await runLogged({ argv: [join(kernel, 'scripts/config'), '--file', join(kernel, '.config'), ...SLIM_OFF.flatMap((k) => ['--disable', k])], log, nice: 0 });
          await runLogged({ argv: mk(['olddefconfig']), log });
        },
      },
      { id: 'vmlinux', title: 'build vmlinux', resumable: true, run: () => runLogged({ argv: mk(['vmlinux']), log }) },
    ],
    new StageMarkers(join(dir, 'stages')),
    'plain',
  );

  // talos-mac's part: only arch/powerpc/kvm, against that kernel's config and symbol versions.
  const common = { kernelSrc: SOURCE_TARBALL, config: join(kernel, '.config'), crossCompile: CROSS, cacheDir, symvers: join(kernel, 'vmlinux.symvers'), ui: 'plain' as const, host: new LiveHost() };
  const built = await buildPrModule({ ...common, release: RELEASE });

  // Controls: the same module built for another release, and one built without Module.symvers.
  const wrong = await buildPrModule({ ...common, release: '6.1.0-98-other-powerpc64le' });
  const unversioned = await buildPrModule({ ...common, release: RELEASE, symvers: false });

  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev',
    'echo "E2E uname: $(uname -r)"',
    'grep MMU /proc/cpuinfo',
    'insmod /wrong-kvm.ko && echo "E2E wrong-release module accepted by the kernel" && rmmod kvm',
    'insmod /unversioned-kvm.ko || echo "E2E module without symbol versions refused"',
    'insmod /kvm.ko && echo "E2E kvm.ko loaded"',
    'insmod /kvm-pr.ko && echo "E2E kvm-pr.ko loaded"',
    'grep kvm /proc/modules',
    '[ -c /dev/kvm ] && echo "E2E /dev/kvm present"',
    'poweroff -f',
  ].join('\n');
  const initrd = join(dir, 'initrd.cpio');
  await writeFile(
    initrd,
    cpio([
      { name: 'bin', mode: 0o40755 },
      { name: 'dev', mode: 0o40755 },
      { name: 'proc', mode: 0o40755 },
      { name: 'sys', mode: 0o40755 },
      { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
      { name: 'bin/busybox', mode: 0o100755, data: await readFile(await ppc64elBusybox(dir)) },
      { name: 'init', mode: 0o100755, data: Buffer.from(init + '\n') },
      { name: 'wrong-kvm.ko', mode: 0o100644, data: await readFile(wrong.modules.kvm) },
      { name: 'unversioned-kvm.ko', mode: 0o100644, data: await readFile(unversioned.modules.kvm) },
      { name: 'kvm.ko', mode: 0o100644, data: await readFile(built.modules.kvm) },
      { name: 'kvm-pr.ko', mode: 0o100644, data: await readFile(built.modules.kvmPr) },
    ]),
  );
  const r = spawnSync(
    'qemu-system-ppc64',
    ['-M', 'powernv9', '-m', '2G', '-smp', '1', '-nographic', '-serial', 'mon:stdio', '-kernel', join(kernel, 'vmlinux'), '-initrd', initrd,
      '-append', 'console=hvc0 loglevel=7 disable_radix'],
    { encoding: 'utf8', timeout: 10 * 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = `${r.stdout}${r.stderr}`;
  await writeFile(join(dir, 'boot.log'), out);
  const ours = out.split('\n').filter((l) => /E2E|MMU|kvm|insmod|version magic|Unknown symbol/.test(l));
  console.log(ours.join('\n'));
  assert.match(out, new RegExp(`E2E uname: ${RELEASE}`));
  assert.match(out, /MMU\s*:\s*Hash/);
  // The kernel's own wording for the refusal ("no symbol version for %s": check_version(), kernel/module/version.c), then nothing else may go wrong.
  // With CONFIG_MODVERSIONS the kernel compares vermagic only after the release (same_magic() in
  // kernel/module/version.c) and trusts the symbol CRCs: it loads a module built for another
  // release. talos-mac's own vermagic check is what keeps such a module out.
  assert.match(out, /E2E wrong-release module accepted by the kernel/);
  await assert.rejects(assertVermagic(wrong.modules.kvm, RELEASE), /module vermagic: 6\.1\.0-98-other-powerpc64le/);
  assert.match(out, /kvm: no symbol version for module_layout/);
  assert.match(out, /E2E module without symbol versions refused/);
  const rest = out.replace(/[^\n]*no symbol version for module_layout[^\n]*\n/g, '');
  assert.doesNotMatch(rest, /version magic|Unknown symbol|disagrees about version|no symbol version/);
  assert.match(out, /E2E kvm-pr\.ko loaded/);
  assert.match(out, /E2E \/dev\/kvm present/);
});
