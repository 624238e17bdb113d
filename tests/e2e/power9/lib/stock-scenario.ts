// The stock-kernel scenarios (issue 10, scenarios 1, 2 and 6): one boot of a Debian kernel, as
// root, with Debian's GRUB files in the root: doctor (collecting a snapshot), setup's dry run,
// and the kernel's own KVM module loaded by kmod's modprobe.
import type { KernelRow } from '../kernels.js';
import { bootBox, cmd, sendDir, type BoxResults } from './box.js';
import type { BootKernel } from './debian-kernel.js';
import { freshRoot, hostFiles } from './host.js';
import { userland } from './userland.js';

export interface StockBoot {
  kernel: BootKernel;
  results: BoxResults;
}

export async function bootStock(row: KernelRow, mmu: 'radix' | 'hash', extra: string[] = []): Promise<StockBoot> {
  const kernel = await row.fetch();
  const root = await freshRoot(`${row.id}-${mmu}`, row, kernel, { grub: true });
  const results = await bootBox({
    label: `${row.id} ${mmu}`,
    kernel,
    userland: await userland('bookworm'),
    root,
    cmdline: mmu === 'hash' ? 'disable_radix' : undefined,
    files: await hostFiles(row),
    script: [
      cmd('doctor', ['talos-mac', 'doctor', '--json', '--collect', '/tmp/snapshot']),
      sendDir('snapshot.tar.gz', '/tmp/snapshot'),
      cmd('setup', ['talos-mac', 'setup', '--dry-run', '-v']),
      cmd('setup-build', ['talos-mac', 'setup', '--dry-run', '--build-kernel']),
      cmd('modinfo-hv', ['modinfo', '-n', 'kvm_hv']),
      cmd('modprobe-hv', ['modprobe', 'kvm_hv']),
      cmd('modules', ['cat', '/proc/modules']),
      cmd('modprobe-pr', ['modprobe', 'kvm_pr']),
      ...extra,
    ],
  });
  return { kernel, results };
}
