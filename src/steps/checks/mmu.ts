import { cpuGeneration, cpuHasRadix, isPseries, mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { coverage } from '../../parse/bootloader.js';
import { disableRadixValue } from '../../parse/cmdline.js';
import { mmuFromDmesg } from '../../parse/dmesg.js';
import { configValue } from '../../parse/kconfig.js';
import type { Facts } from '../facts.js';
import type { Fix, Step, StepContext, StepResult } from '../step.js';
import { unlessPower } from './common.js';
import { regenerateArgv } from '../host-changes/boot-method.js';
import { shellLine } from '../../ui/shell-quote.js';
import { assessKvmPr } from './kvm-pr-verdict.js';

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
async function inGuest(facts: Facts): Promise<boolean> {
  const info = await facts.cpuinfo();
  return info.ok && isPseries(info.value);
}

async function addTokenFix(facts: Facts): Promise<Fix> {
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
    bySetup: true,
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

const active: Step = {
  id: 'mmu.active',
  category: 'MMU',
  title: 'Run the hash MMU',
  severity: 'required',
  async verify(ctx) {
    const skip = await unlessRadixPossible(ctx);
    if (skip) return skip;
    const [info, dmesg] = await Promise.all([ctx.facts.cpuinfo(), ctx.facts.dmesg()]);
    const fromCpu = info.ok ? mmuFromCpuInfo(info.value) : undefined;
    const fromLog = dmesg.ok ? mmuFromDmesg(dmesg.value) : undefined;
    const mmu = fromCpu ?? fromLog;
    const evidence = [
      `/proc/cpuinfo: ${fromCpu ?? (info.ok ? 'no MMU line' : info.reason)}`,
      `dmesg: ${dmesg.ok ? (fromLog ?? 'no MMU initialisation message (the log may have rotated)') : `could not read (${dmesg.reason})`}`,
    ];
    if (fromCpu && fromLog && fromCpu !== fromLog) evidence.push('the two disagree: /proc/cpuinfo describes the running kernel and wins');
    const detail = evidence.join('\n');
    if (!mmu) return { state: 'unknown', summary: 'cannot tell which MMU the kernel runs', detail };
    if (mmu === 'hash') return { state: 'done', summary: 'Hash MMU: KVM-PR can load', detail };
    const next = await nextBootState(ctx.facts);
    if (next.state === 'set') {
      return {
        state: 'reboot-required',
        summary: 'Radix MMU now; disable_radix is set for the next boot: reboot to switch to hash',
        detail: `${detail}\nnext boot: ${next.where}`,
        fix: { text: 'Reboot into the configured kernel command line.', commands: ['sudo reboot'] },
      };
    }
    // The -EIO of kvmppc_core_check_processor_compat_pr() needs a kvm-pr.ko to load (KNOWLEDGE §1).
    const pr = await assessKvmPr(ctx.facts);
    const why =
      pr.verdict === 'module-needs-loading'
        ? 'kvm_pr refuses to load on POWER9 with radix (modprobe: Input/output error)'
        : pr.verdict === 'new-kernel-needed' || pr.verdict === 'module-must-be-built'
          ? 'KVM-PR on POWER9 needs the hash MMU (and this kernel has no kvm_pr yet: see Kernel)'
          : 'kvm_pr cannot load on POWER9 with radix';
    return {
      state: 'todo',
      summary: `Radix MMU: ${why}`,
      detail,
      fix: await addTokenFix(ctx.facts),
    };
  },
};

const cmdline: Step = {
  id: 'mmu.cmdline',
  category: 'MMU',
  title: 'Show disable_radix on the running command line',
  severity: 'info',
  async verify(ctx) {
    const skip = await unlessRadixPossible(ctx);
    if (skip) return skip;
    const c = await ctx.facts.cmdline();
    if (!c.ok) return { state: 'unknown', summary: `cannot read the kernel command line: ${c.reason}` };
    const v = disableRadixValue(c.value);
    return {
      state: 'done',
      summary:
        v === true
          ? 'disable_radix is on the running kernel command line'
          : v === false
            ? 'disable_radix is switched off (=0/n/off) on the running command line'
            : 'disable_radix is not on the running kernel command line',
      detail: `/proc/cmdline: ${c.value.trim()}`,
    };
  },
};

const nextBoot: Step = {
  id: 'mmu.next-boot',
  category: 'MMU',
  title: 'Keep disable_radix for the next boot',
  severity: 'advisory',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessRadixPossible(ctx);
    if (skip) return skip;
    const next = await nextBootState(ctx.facts);
    const info = await ctx.facts.cpuinfo();
    const hashNow = info.ok && mmuFromCpuInfo(info.value) === 'hash';
    switch (next.state) {
      case 'set':
        return { state: 'done', summary: `the boot loader passes disable_radix (${next.where})` };
      case 'needs-regeneration':
        return {
          state: 'todo',
          summary: `disable_radix is in /etc/default/grub but the generated configuration lacks it`,
          detail: next.where,
          fix: { text: 'Regenerate the GRUB configuration.', commands: ['sudo update-grub'], bySetup: true },
        };
      case 'partial':
      case 'not-set':
        return {
          state: 'todo',
          summary: `${next.state === 'partial' ? 'only some' : 'no'} boot entries pass disable_radix (${next.where})${hashNow ? ': the next boot would bring radix back' : ''}`,
          fix: await addTokenFix(ctx.facts),
        };
      case 'unknown':
        return hashNow
          ? {
              state: 'unknown',
              status: 'info',
              summary: `cannot check the boot loader (${next.where}); the running kernel already uses hash`,
              fix: { text: 'Make sure your boot loader keeps passing disable_radix after a reboot.' },
            }
          : {
              state: 'unknown',
              summary: `cannot check the boot loader: ${next.where}`,
              fix: {
                text: `Add disable_radix to the kernel command line wherever this system keeps it: GRUB_CMDLINE_LINUX in /etc/default/grub (then update-grub), or the options line of each /boot/loader/entries/*.conf.${(await inGuest(ctx.facts)) ? '' : ' Petitboot reads both.'}`,
              },
            };
    }
  },
};

export const mmuSteps: Step[] = [active, cmdline, nextBoot];
