// A stock Debian ppc64el kernel: the newest linux-image package of a suite that actually downloads
// (an index can list a version whose file is not on the mirror yet), with only what a boot needs:
// vmlinux, its config, the KVM modules directory and modules.builtin/order (depmod runs in the box).
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
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
