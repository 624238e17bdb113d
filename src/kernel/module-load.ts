import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { parseProcModules } from '../parse/proc-modules.js';
import { runOrFail, type KernelRunner } from './privileged.js';
import { assertVermagic } from './vermagic.js';

export interface BuiltModules {
  kvm: string;
  kvmPr: string;
}

/** Where talos-mac installs its modules: updates/ wins over the distro's kernel/ tree in depmod's search order. */
export function installDir(release: string, root = '/'): string {
  return join(root, 'lib', 'modules', release, 'updates', 'talos-mac');
}

async function loadedModules(procModules: string): Promise<Set<string>> {
  try {
    return parseProcModules(await readFile(procModules, 'utf8'));
  } catch {
    return new Set();
  }
}

export interface LoadOptions {
  release: string;
  modules: BuiltModules;
  runner: KernelRunner;
  /** For tests: where to read the loaded modules from. */
  procModules?: string;
  devKvm?: string;
}

/**
 * Checks vermagic first (both strings shown on a mismatch), then replaces whatever kvm modules
 * are loaded by the freshly built kvm.ko + kvm-pr.ko. kvm-pr.ko's symbol versions were computed
 * against this kvm.ko, so the pair is loaded together rather than kvm-pr over the distro's kvm.
 */
export async function loadPrModules(o: LoadOptions): Promise<{ loaded: boolean; commands: string[][] }> {
  await assertVermagic(o.modules.kvm, o.release);
  await assertVermagic(o.modules.kvmPr, o.release);
  const procModules = o.procModules ?? '/proc/modules';
  const before = await loadedModules(procModules);
  const commands: string[][] = [];
  const run = async (argv: string[]) => {
    commands.push(argv);
    return runOrFail(o.runner, argv);
  };
  const old = ['kvm_pr', 'kvm_hv', 'kvm'].filter((m) => before.has(m));
  if (old.length > 0) await run(['modprobe', '-r', ...old]);
  await run(['insmod', o.modules.kvm]);
  const last = await run(['insmod', o.modules.kvmPr]);
  if (last.skipped) return { loaded: false, commands };
  const after = await loadedModules(procModules);
  if (!after.has('kvm_pr')) throw new UserError(`kvm-pr.ko was inserted but kvm_pr is not in ${procModules}: see dmesg`, 1);
  try {
    await stat(o.devKvm ?? '/dev/kvm');
  } catch {
    throw new UserError('kvm_pr is loaded but /dev/kvm did not appear: see dmesg', 1);
  }
  return { loaded: true, commands };
}

export interface InstallOptions {
  release: string;
  modules: BuiltModules;
  runner: KernelRunner;
  root?: string;
}

/** Copy the modules under /lib/modules/<release>/updates/talos-mac/ and run depmod, so they load after a reboot. */
export async function installPrModules(o: InstallOptions): Promise<string[][]> {
  await assertVermagic(o.modules.kvmPr, o.release);
  const dir = installDir(o.release, o.root);
  const commands = [
    ['install', '-D', '-m', '0644', o.modules.kvm, join(dir, 'kvm.ko')],
    ['install', '-D', '-m', '0644', o.modules.kvmPr, join(dir, 'kvm-pr.ko')],
    ['depmod', ...(o.root && o.root !== '/' ? ['-b', o.root] : []), '-a', o.release],
  ];
  for (const argv of commands) await runOrFail(o.runner, argv);
  return commands;
}
