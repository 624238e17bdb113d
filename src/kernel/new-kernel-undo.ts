// The undo of a kernel talos-mac built and installed (kernel.pr-support, kernel.distro-newer): kept
// apart from the build pipeline (new-kernel.ts) so the steps that name it, and doctor with them,
// do not load the pipeline.
import type { PrivilegedRunner } from '../privileged/runner.js';
import { KERNEL_RELEASE, type Change } from '../privileged/record.js';
import { anyOf, removalOk, removeInstalled, runsUndo, type Kept, type Undo } from '../privileged/revert.js';
import { removesProvenance } from './provenance.js';
import { DEFAULT_LOCALVERSION } from './options.js';

/** A kernel talos-mac built: its release ends in talos-mac's LOCALVERSION (a "+" after it is Kbuild's). */
const ownKernel = (release: string): boolean => KERNEL_RELEASE.test(release) && new RegExp(`${DEFAULT_LOCALVERSION}\\+?$`).test(release);
const rpmRelease = (release: string) => release.replace(/-/g, '_');

/** Why `release` must stay installed: it is the running kernel (removing it would leave the next boot to whatever remains), or that cannot be told. */
async function kernelKept(runner: PrivilegedRunner, release: string): Promise<Kept | undefined> {
  const uname = await runner.host.run(['uname', '-r']);
  const running = uname.exitCode === 0 ? uname.stdout.trim() : undefined;
  if (running === undefined) return { keep: `cannot tell the running kernel (uname -r failed): ${release} is kept installed, and kept in the record` };
  if (running === release) return { keep: `${release} is the running kernel: not removed. Boot another kernel, then run \`talos-mac setup --undo\` again to remove it.` };
  return undefined;
}

type KernelInstalled = Extract<Change, { kind: 'kernel-installed' }>;
const ownKernelPackages = (c: KernelInstalled): boolean => ownKernel(c.release) && removalOk(c.packages, c.remove) && c.packages.every((p) => p.includes(c.release) || p.includes(rpmRelease(c.release)));

/**
 * The undo of what buildNewKernel records: the kernel's packages (never while it runs), the record
 * of what it was built from (kept with its kernel), and `make modules_install install` (nothing to run).
 */
export const undoNewKernel: Undo = anyOf(
  (c) => (c.kind === 'kernel-installed' && ownKernelPackages(c) ? async (runner) => (await kernelKept(runner, c.release)) ?? removeInstalled(runner, c.remove) : undefined),
  removesProvenance(async (runner, release) => (await kernelKept(runner, release))?.keep.split(':')[0]),
  runsUndo(() => false),
);
