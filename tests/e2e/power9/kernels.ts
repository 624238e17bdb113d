// The kernels the box boots. Part of the host each scenario describes: which suite's
// /etc/os-release and boot loader defaults its root carries. A new kernel (e.g. one built by
// talos-mac's own pipeline) is a new row whose fetch returns a BootKernel.
import type { Suite } from './lib/apt.js';
import { debianKernel, debianSplitKernel, type BootKernel } from './lib/debian-kernel.js';
import { prKernel, sourcePrKernel, type PackagedPrKernel } from './lib/pr-kernel.js';

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
  debian13Userland: {
    id: 'debian13-userland',
    title: "Debian 13 host (its userland: QEMU 10.0, Node 20) on talos-mac's 6.1 PR kernel",
    suite: 'trixie',
    // The cached 6.1 PR kernel: the subject is Debian 13's QEMU under KVM-PR; Debian 13's own 6.12
    // cannot do PR, and a 6.12 PR kernel would be a second cold build for the same proof.
    fetch: (): Promise<BootKernel> => KERNELS.pr.fetch(),
  },
} satisfies Record<string, KernelRow>;

export interface SourceKernelRow extends KernelRow {
  package: string;
  fetch: () => Promise<PackagedPrKernel>;
}

/**
 * The PR kernel built from a Debian kernel source package (unstable's linux-source-7.2, or the
 * watch's TALOS_E2E_KERNEL_SOURCE), on a Debian unstable host: its config is that suite's stock kernel's.
 */
export function sourceKernelRow(pkg: string): SourceKernelRow {
  const series = /^linux-source-(\d+\.\d+)$/.exec(pkg)?.[1];
  if (!series) throw new Error(`TALOS_E2E_KERNEL_SOURCE: ${pkg} is not a Debian kernel source package name (linux-source-X.Y)`);
  return {
    id: `pr-${series}`,
    package: pkg,
    title: `KVM-PR kernel built by talos-mac's pipeline from Debian's ${pkg} (its suite's stock config reduced to the box, packaged by make bindeb-pkg)`,
    suite: 'sid',
    fetch: once(() => sourcePrKernel(pkg)),
  };
}
