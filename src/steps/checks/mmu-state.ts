import { cpuGeneration, cpuHasRadix, isPseries, mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { coverage } from '../../parse/bootloader.js';
import { disableRadixValue } from '../../parse/cmdline.js';
import { configValue } from '../../parse/kconfig.js';
import type { Facts } from '../../host/facts.js';
import type { Fix, StepContext, StepResult } from '../step.js';
import { unlessPower } from './common.js';
import { regenerateArgv } from '../host-changes/boot-method.js';
import { shellLine } from '../../ui/shell-quote.js';

/**
 * Why this host runs only the hash MMU, so there is no disable_radix to set: radix translation is
 * ISA 3.0 (POWER9 and later), and a kernel built without CONFIG_PPC_RADIX_MMU always uses hash.
 */
export async function hashOnlyReason(facts: Facts): Promise<string | undefined> {
  const info = await facts.cpuinfo();
  if (info.ok && mmuFromCpuInfo(info.value) === 'radix') return undefined;
  if (info.ok && cpuHasRadix(info.value) === false) {
    const gen = cpuGeneration(info.value);
    return `the MMU is already hash: ${gen === 'POWER8' ? 'POWER8' : (info.value.cpu ?? 'this CPU')} has only the hash MMU (radix needs POWER9), so there is nothing to switch`;
  }
  const cfg = await facts.kernelConfig();
  if (cfg.ok && configValue(cfg.value, 'CONFIG_PPC_RADIX_MMU') !== 'y') {
    return 'the MMU is already hash: this kernel is built without radix support (CONFIG_PPC_RADIX_MMU is not set), so there is nothing to switch';
  }
  return undefined;
}

/** For MMU steps: not-applicable off POWER and on hosts that have only the hash MMU. */
export async function unlessRadixPossible(ctx: StepContext): Promise<StepResult | undefined> {
  const skip = await unlessPower(ctx);
  if (skip) return skip;
  const hashOnly = await hashOnlyReason(ctx.facts);
  return hashOnly ? { state: 'not-applicable', summary: hashOnly } : undefined;
}

/** Petitboot reads the installed OS's boot configuration on bare metal; a pSeries guest boots its own. */
export async function inGuest(facts: Facts): Promise<boolean> {
  const info = await facts.cpuinfo();
  return info.ok && isPseries(info.value);
}

export async function addTokenFix(facts: Facts): Promise<Fix> {
  const { kernelArgs } = await facts.distro();
  const tool = kernelArgs.regenerate[0];
  const commands =
    kernelArgs.usual === 'bls'
      ? ['sudo grubby --update-kernel=ALL --args=disable_radix', 'sudo reboot']
      : kernelArgs.usual === 'grub-default' && tool
        ? ['sudoedit /etc/default/grub   # add disable_radix to GRUB_CMDLINE_LINUX="…"', `sudo ${shellLine(regenerateArgv(tool))}`, 'sudo reboot']
        : undefined;
  return {
    text: `Boot with the hash MMU: add disable_radix to the kernel command line in ${(await inGuest(facts)) ? "this guest's boot loader configuration" : "your boot loader configuration (Petitboot reads the OS's GRUB and BootLoaderSpec files)"}, then reboot.`,
    ...(commands ? { commands } : {}),
  };
}

export type NextBoot = 'set' | 'partial' | 'not-set' | 'needs-regeneration' | 'unknown';

export async function nextBootState(facts: Facts): Promise<{ state: NextBoot; where: string }> {
  const boot = await facts.bootConfig();
  const inDefault =
    boot.defaultGrub !== undefined &&
    (disableRadixValue(boot.defaultGrub.linux ?? '') === true || disableRadixValue(boot.defaultGrub.linuxDefault ?? '') === true);
  if (boot.kind === 'none' || boot.cmdlines.length === 0) {
    if (boot.unreadable.length > 0 || inDefault) {
      return {
        state: inDefault ? 'set' : 'unknown',
        where: inDefault
          ? `/etc/default/grub (${boot.unreadable.join(', ') || 'no generated configuration'} could not be read to confirm)`
          : `${boot.unreadable.join(', ')} could not be read (run as root to check)`,
      };
    }
    return { state: 'unknown', where: 'no GRUB or BootLoaderSpec configuration found' };
  }
  const where = boot.kind === 'bls' ? `${boot.cmdlines.length} BootLoaderSpec entries` : boot.files.join(', ');
  const c = coverage(boot.cmdlines);
  if (c === 'all') return { state: 'set', where };
  if (c === 'none' && inDefault) return { state: 'needs-regeneration', where: `/etc/default/grub has it, ${where} does not` };
  return { state: c === 'some' ? 'partial' : 'not-set', where };
}

