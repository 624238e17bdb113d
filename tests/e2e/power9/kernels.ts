// The kernels the box boots. Part of the host each scenario describes: which suite's
// /etc/os-release and boot loader defaults its root carries. A new kernel (e.g. one built by
// talos-mac's own pipeline) is a new row whose fetch returns a BootKernel.
import type { Suite } from './lib/apt.js';
import { debianKernel, debianSplitKernel, type BootKernel } from './lib/debian-kernel.js';
import { prKernel } from './lib/pr-kernel.js';

export interface KernelRow {
  id: string;
  title: string;
  /** The Debian release the host runs (its os-release, its grub defaults). */
  suite: Suite;
  fetch: () => Promise<BootKernel>;
}

const once = <T>(f: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
};

export const KERNELS = {
  debian12: {
    id: 'debian12',
    title: 'Debian 12 stock kernel (6.1)',
    suite: 'bookworm',
    fetch: once(() => debianKernel('bookworm', /^linux-image-6\.1\.0-\d+-powerpc64le$/)),
  },
  debian13: {
    id: 'debian13',
    title: 'Debian 13 stock kernel (6.12)',
    suite: 'trixie',
    fetch: once(() => debianKernel('trixie', /^linux-image-6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/)),
  },
  debian14: {
    id: 'debian14',
    title: "Debian unstable's stock kernel (7.2), laid out as its split packages install it",
    suite: 'sid',
    fetch: once(() => debianSplitKernel('sid', /^linux-image-7\.2\.\d+\+deb14-powerpc64le$/)),
  },
  pr: {
    id: 'pr',
    title: "KVM-PR kernel built by talos-mac's pipeline (linux-source-6.1, Debian 12's config reduced to the box)",
    suite: 'bookworm',
    fetch: once(async (): Promise<BootKernel> => prKernel(await KERNELS.debian12.fetch())),
  },
} satisfies Record<string, KernelRow>;
