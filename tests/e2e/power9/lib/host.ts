// A Debian host in the box: the kernel row's suite decides its /etc/os-release (Debian's own, from
// base-files) and its boot loader defaults; the persistent root holds what setup may change.
import { join } from 'node:path';
import type { KernelRow } from '../kernels.js';
import { cacheRoot } from './cache.js';
import type { CpioEntry } from './cpio.js';
import type { BootKernel } from './debian-kernel.js';
import { debianDefaultGrub, grubCfg, updateGrubStandIn } from './grub.js';
import { PersistentRoot } from './persistent-root.js';
import { suiteFile } from './userland.js';

/** Files of the host that setup does not change: written into every boot. */
export async function hostFiles(row: KernelRow): Promise<CpioEntry[]> {
  return [
    { path: 'etc/os-release', type: 'file', data: await suiteFile(row.suite, 'base-files', 'usr/lib/os-release') },
    { path: 'usr/sbin/update-grub', type: 'file', data: updateGrubStandIn(), mode: 0o755 },
  ];
}

/** A fresh persistent root (state of earlier runs forgotten), optionally with GRUB's files as Debian installs them. */
export async function freshRoot(name: string, row: KernelRow, kernel: BootKernel, o: { grub: boolean }): Promise<PersistentRoot> {
  const root = new PersistentRoot(join(cacheRoot(), 'hosts', name));
  await root.reset();
  if (o.grub) {
    const defaults = await debianDefaultGrub(row.suite);
    root.seed('etc/default/grub', defaults).seed('boot/grub/grub.cfg', grubCfg(defaults.toString('utf8'), kernel.release), { mode: 0o444 });
  }
  return root;
}
