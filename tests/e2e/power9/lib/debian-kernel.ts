// A stock Debian ppc64el kernel: the newest linux-image package of a suite that actually downloads
// (an index can list a version whose file is not on the mirror yet), with only what a boot needs:
// vmlinux, its config, the KVM modules directory and modules.builtin/order (depmod runs in the box).
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PpcArchive, type Suite } from './apt.js';
import { cacheRoot, log } from './cache.js';
import { unpackDebMembers } from './deb.js';

export interface BootKernel {
  /** uname -r */
  release: string;
  vmlinux: string;
  config: string;
  /** A directory holding lib/modules/RELEASE/… (or usr/lib/modules/…): copied into the initramfs as is. */
  modulesRoot: string;
  /** Which package (and version) it came from, for the logs and snapshot READMEs. */
  origin: string;
  /** Debian 14's split packages: the config is only at usr/lib/modules/RELEASE/config (in modulesRoot), no /boot copy. */
  configOnlyInModules?: boolean;
}

interface Resolved {
  package: string;
  version: string;
  deb: string;
}

export async function debianKernel(suite: Suite, image: RegExp): Promise<BootKernel> {
  const root = join(cacheRoot(), 'kernels', suite);
  await mkdir(root, { recursive: true });
  const resolvedFile = join(root, `resolved-${image.source.replace(/[^a-z0-9.]+/gi, '_')}.json`);
  let resolved: Resolved | undefined;
  if (existsSync(resolvedFile)) {
    resolved = JSON.parse(await readFile(resolvedFile, 'utf8')) as Resolved;
    if (!existsSync(resolved.deb)) resolved = undefined;
  }
  if (!resolved) {
    const archive = new PpcArchive(suite);
    const got = await archive.downloadNewest(await archive.newestFirst(image), root);
    if (got) resolved = { package: got.name, version: got.version, deb: got.deb };
    if (!resolved) throw new Error(`no ${image} package of ${suite} downloads from the mirror`);
    await writeFile(resolvedFile, JSON.stringify(resolved, null, 2));
  }
  const origin = `${resolved.package} ${resolved.version} (${suite})`;
  log(`kernel: ${origin}`);
  const unpacked = resolved.deb.replace(/\.deb$/, '.unpacked');
  if (!existsSync(join(unpacked, '.complete'))) {
    await rm(unpacked, { recursive: true, force: true });
    await unpackDebMembers(resolved.deb, unpacked, ['./boot/vmlinux-*', './boot/config-*', '*/modules/*/kernel/arch/powerpc/kvm/*', '*/modules/*/modules.builtin*', '*/modules/*/modules.order']);
    await writeFile(join(unpacked, '.complete'), '');
  }
  const vmlinux = (await readdir(join(unpacked, 'boot'))).find((f) => f.startsWith('vmlinux-'));
  if (!vmlinux) throw new Error(`${resolved.deb} has no boot/vmlinux-*`);
  const release = vmlinux.slice('vmlinux-'.length);
  return { release, vmlinux: join(unpacked, 'boot', vmlinux), config: join(unpacked, 'boot', `config-${release}`), modulesRoot: unpacked, origin };
}

/**
 * Debian unstable's split kernel (Linux 7.x): linux-image-RELEASE is a meta package; the image is
 * linux-binary-RELEASE's usr/lib/modules/RELEASE/vmlinuz (an ELF vmlinux on ppc64el), the config and
 * modules.builtin/order are linux-base-RELEASE's, the modules linux-modules-RELEASE's; all at the
 * meta's version (its Depends pin them with "="). Laid out as the packages install them: nothing in /boot.
 */
export async function debianSplitKernel(suite: Suite, image: RegExp): Promise<BootKernel> {
  const root = join(cacheRoot(), 'kernels', suite);
  await mkdir(root, { recursive: true });
  const resolvedFile = join(root, `split-${image.source.replace(/[^a-z0-9.]+/gi, '_')}.json`);
  type Split = { package: string; version: string; debs: string[] };
  let resolved: Split | undefined;
  if (existsSync(resolvedFile)) {
    resolved = JSON.parse(await readFile(resolvedFile, 'utf8')) as Split;
    if (!resolved.debs.every((d) => existsSync(d))) resolved = undefined;
  }
  if (!resolved) {
    const archive = new PpcArchive(suite);
    const meta = await archive.downloadNewest(await archive.newestFirst(image), root);
    if (!meta) throw new Error(`no ${image} package of ${suite} downloads from the mirror`);
    const rel = meta.name.slice('linux-image-'.length);
    const debs = [meta.deb];
    for (const part of ['binary', 'base', 'modules']) {
      const deb = await archive.download(`linux-${part}-${rel}=${meta.version}`, root);
      if (!deb) throw new Error(`linux-${part}-${rel} ${meta.version} (a part of ${meta.name}) does not download`);
      debs.push(deb);
    }
    resolved = { package: meta.name, version: meta.version, debs };
    await writeFile(resolvedFile, JSON.stringify(resolved, null, 2));
  }
  const release = resolved.package.slice('linux-image-'.length);
  const origin = `${resolved.package} ${resolved.version} (${suite}; split: linux-binary, linux-base, linux-modules)`;
  log(`kernel: ${origin}`);
  const unpacked = join(root, `${release}_${resolved.version}.split-unpacked`);
  if (!existsSync(join(unpacked, '.complete'))) {
    await rm(unpacked, { recursive: true, force: true });
    const [binary, base, modules] = resolved.debs.slice(1) as [string, string, string];
    const vmlinuzDir = join(root, `${release}_${resolved.version}.binary`);
    await unpackDebMembers(binary, vmlinuzDir, ['./usr/lib/modules/*/vmlinuz']);
    // The image goes to QEMU's -kernel (ELF), not into the root; the rest stays where the packages install it.
    await rename(join(vmlinuzDir, 'usr', 'lib', 'modules', release, 'vmlinuz'), join(root, `${release}_${resolved.version}.vmlinux`));
    await rm(vmlinuzDir, { recursive: true, force: true });
    await unpackDebMembers(base, unpacked, ['./usr/lib/modules/*/config', './usr/lib/modules/*/modules.builtin*', './usr/lib/modules/*/modules.order']);
    await unpackDebMembers(modules, unpacked, ['*/modules/*/kernel/arch/powerpc/kvm/*']);
    await writeFile(join(unpacked, '.complete'), '');
  }
  const dir = join(unpacked, 'usr', 'lib', 'modules', release);
  const vmlinux = join(root, `${release}_${resolved.version}.vmlinux`);
  return { release, vmlinux, config: join(dir, 'config'), modulesRoot: unpacked, origin, configOnlyInModules: true };
}
