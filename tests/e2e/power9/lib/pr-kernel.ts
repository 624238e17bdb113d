// The KVM-PR kernel the box boots, built by talos-mac's own pipeline (buildKernelImage, cross
// mode) from Debian's linux-source-6.1 with the Debian 12 stock kernel's config, reduced
// (make localmodconfig) to what the box itself had loaded (the box snapshot's /proc/modules).
// Cached by the pipeline (by source version, config and module list): a second run builds nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildKernelImage, type KernelImage } from '../../../../src/kernel/new-kernel.js';
import { readReduction } from '../../../../src/kernel/reduce.js';
import { REPO } from './box.js';
import { cacheRoot, log } from './cache.js';
import type { BootKernel } from './debian-kernel.js';

export const PR_SOURCE = '/usr/src/linux-source-6.1.tar.xz';
export const PR_CROSS = 'powerpc64le-linux-gnu-';
/** What the Debian 12 box had loaded (captured by part A's scenario 1). */
export const BOX_MODULES = join(REPO, 'tests', 'fixtures', 'snapshots', 'box-debian12-6.1-radix', 'proc', 'modules');

/** Why the PR kernel cannot be built here, or undefined. */
export function prKernelMissing(): string | undefined {
  const missing = [PR_SOURCE, `/usr/bin/${PR_CROSS}gcc`].filter((p) => !existsSync(p));
  return missing.length ? `needs ${missing.join(' and ')} (apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu bc flex bison libssl-dev libelf-dev)` : undefined;
}

export interface PrKernel extends BootKernel {
  image: KernelImage;
  seconds: number;
}

export async function prKernel(stock: BootKernel): Promise<PrKernel> {
  const why = prKernelMissing();
  if (why) throw new Error(`the PR kernel ${why}`);
  const t0 = Date.now();
  const image = await buildKernelImage({
    kernelSrc: PR_SOURCE,
    config: stock.config,
    release: stock.release,
    crossCompile: PR_CROSS,
    // Both cores, under nice (runLogged's default): -j CPUs-1 would be -j1 on the 2-core CI machine.
    jobs: Number(process.env.TALOS_E2E_KERNEL_JOBS ?? 2),
    cacheDir: join(cacheRoot(), 'kernel-build'),
    // The build's calibration and its recorded cost (kernel-builds.json) stay in the box cache, not the user's.
    env: { ...process.env, XDG_CACHE_HOME: join(cacheRoot(), 'kernel-build', 'xdg') },
    onCost: (text) => log(`pr kernel: ${text}`),
    reduce: await readReduction(BOX_MODULES),
    ui: (e) => {
      if (e.kind === 'start' || e.kind === 'skip') log(`pr kernel: ${e.kind === 'skip' ? 'cached' : 'start'}: ${e.stage.title}`);
      if (e.kind === 'done') log(`pr kernel: ${e.stage.title}: ${(e.ms / 1000).toFixed(0)} s`);
    },
  });
  const seconds = (Date.now() - t0) / 1000;
  if (image.configured.dropped) log(`pr kernel: ${image.configured.dropped.summary} (list: ${image.configured.dropped.listFile})`);
  log(`pr kernel: ${image.release} ready in ${seconds.toFixed(0)} s${image.resumed.includes('build-image') ? ' (cached)' : ''}`);
  return {
    release: image.release,
    vmlinux: image.vmlinux,
    config: image.config,
    modulesRoot: image.modulesRoot,
    origin: `talos-mac buildKernelImage: linux-source-6.1 with ${stock.origin}'s config, reduced to the box's modules`,
    image,
    seconds,
  };
}
