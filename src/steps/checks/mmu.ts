import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { disableRadixValue } from '../../parse/cmdline.js';
import { mmuFromDmesg } from '../../parse/dmesg.js';
import { nextBoot } from '../host-changes/mmu-hash.js';
import type { Step } from '../step.js';
import { assessKvmPr } from './kvm-pr-verdict.js';
import { addTokenFix, nextBootState, unlessRadixPossible } from './mmu-state.js';

export const mmuActive: Step = {
  id: 'mmu.active',
  category: 'MMU',
  title: 'Run the hash MMU',
  severity: 'required',
  fixedBy: nextBoot,
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
    // The -EIO of kvmppc_core_check_processor_compat_pr() needs a kvm-pr.ko to load: kvmppc_book3s_init_pr() runs it (arch/powerpc/kvm/book3s_pr.c).
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

/** In setup's order: the boot configuration first, then whether the running MMU follows it. */
export const mmuSteps: Step[] = [cmdline, nextBoot, mmuActive];
