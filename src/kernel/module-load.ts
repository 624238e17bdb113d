import { UserError } from '../errors.js';
import { parseProcModules } from '../parse/proc-modules.js';
import { moduleInstallDir, type RecordedBy } from '../privileged/record.js';
import { anyOf, exactly, removesModules, runsUndo, type Undo } from '../privileged/revert.js';
import type { SystemChanges } from '../privileged/runner.js';
import { assertVermagic } from './vermagic.js';

export interface BuiltModules {
  kvm: string;
  kvmPr: string;
}

/** Where talos-mac installs its modules. */
export const installDir = moduleInstallDir;

async function loadedModules(runner: SystemChanges): Promise<Set<string>> {
  const r = await runner.host.readFile('/proc/modules');
  return r.ok ? parseProcModules(r.data.toString('utf8')) : new Set();
}

/** What undoes loading kvm_pr, and unloading kvm_hv (here and in the kvm.* steps). */
export const UNLOAD_PR: readonly string[] = ['modprobe', '-r', 'kvm_pr'];
export const RELOAD_HV: readonly string[] = ['modprobe', 'kvm_hv'];

/** The undo of what loadPrModules and installPrModules record: the modules unloaded (kvm_hv back), the files removed. */
export const undoPrModules: Undo = anyOf(runsUndo(exactly(UNLOAD_PR, RELOAD_HV)), removesModules);

export interface LoadOptions {
  release: string;
  modules: BuiltModules;
  /** Makes (and records) the changes; its host answers /proc/modules and /dev/kvm. */
  runner: SystemChanges;
  /** The step the record names: its undo is undoPrModules. */
  step: RecordedBy;
}

/**
 * Checks vermagic first (both strings shown on a mismatch), then replaces whatever kvm modules
 * are loaded by the freshly built kvm.ko + kvm-pr.ko. kvm-pr.ko's symbol versions were computed
 * against this kvm.ko, so the pair is loaded together rather than kvm-pr over the distro's kvm.
 */
export async function loadPrModules(o: LoadOptions): Promise<{ loaded: boolean; commands: string[][] }> {
  await assertVermagic(o.modules.kvm, o.release);
  await assertVermagic(o.modules.kvmPr, o.release);
  const before = await loadedModules(o.runner);
  const commands: string[][] = [];
  const run = async (argv: string[], undo?: readonly string[]) => {
    commands.push(argv);
    await o.runner.command(o.step, argv, undo ? { undo } : {});
  };
  const old = ['kvm_pr', 'kvm_hv', 'kvm'].filter((m) => before.has(m));
  if (old.length > 0) await run(['modprobe', '-r', ...old], old.includes('kvm_hv') ? RELOAD_HV : undefined);
  await run(['insmod', o.modules.kvm]);
  await run(['insmod', o.modules.kvmPr], UNLOAD_PR);
  if (o.runner.dryRun) return { loaded: false, commands };
  const after = await loadedModules(o.runner);
  if (!after.has('kvm_pr')) throw new UserError('kvm-pr.ko was inserted but kvm_pr is not in /proc/modules: see dmesg', 1);
  if (!(await o.runner.host.pathInfo('/dev/kvm')).exists) throw new UserError('kvm_pr is loaded but /dev/kvm did not appear: see dmesg', 1);
  return { loaded: true, commands };
}

export interface InstallOptions {
  release: string;
  modules: BuiltModules;
  runner: SystemChanges;
  step: RecordedBy;
}

/** Copies the modules under /lib/modules/<release>/updates/talos-mac/ and runs depmod, so they load after a reboot. */
export async function installPrModules(o: InstallOptions): Promise<void> {
  await assertVermagic(o.modules.kvmPr, o.release);
  await o.runner.installModules(o.step, o.release, [o.modules.kvm, o.modules.kvmPr]);
}
