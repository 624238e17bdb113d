import { boardName, cpuGeneration, isPseries, mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import type { Step } from '../step.js';
import { isPowerArch, unlessPower } from './common.js';

const arch: Step = {
  id: 'platform.arch',
  category: 'Platform',
  title: 'Run on a POWER host',
  severity: 'advisory',
  async verify({ facts }) {
    const a = await facts.arch();
    if (!a.ok) return { state: 'unknown', summary: `cannot tell the architecture: ${a.reason}` };
    if (isPowerArch(a.value)) return { state: 'done', summary: `${a.value}` };
    return {
      state: 'todo',
      summary: `${a.value} is not a POWER host: KVM-PR is impossible here, guests run under QEMU's TCG (slower, but they work)`,
      detail: 'KVM-PR needs a POWER CPU (POWER8 or POWER9) running Linux. Every guest can still boot with --accel tcg.',
      fix: { text: 'Nothing to fix on this machine: use TCG guests, or run talos-mac on a POWER9 host (Talos II, Blackbird) for KVM-PR.' },
    };
  },
};

const cpu: Step = {
  id: 'platform.cpu',
  category: 'Platform',
  title: 'Use a POWER9 (or POWER8) CPU',
  severity: 'required',
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const info = await ctx.facts.cpuinfo();
    if (!info.ok) return { state: 'unknown', summary: `cannot read the CPU: ${info.reason}` };
    const gen = cpuGeneration(info.value);
    const name = `${info.value.cpu ?? 'unknown CPU'}${info.value.revision ? ` (revision ${info.value.revision})` : ''}`;
    switch (gen) {
      case 'POWER9':
        return { state: 'done', summary: name };
      case 'POWER8':
        return { state: 'done', summary: `${name}: KVM-PR works on POWER8; talos-mac is tested on POWER9`, status: 'info' };
      case 'POWER10':
        return {
          state: 'unknown',
          summary: `${name}: KVM-PR on POWER10 is untested (the radix/hash rules of POWER9 may not hold)`,
        };
      default:
        return { state: 'unknown', summary: `cannot recognise the CPU in /proc/cpuinfo (cpu: ${info.value.cpu ?? 'missing'})` };
    }
  },
};

const machine: Step = {
  id: 'platform.machine',
  category: 'Platform',
  title: 'Run on bare metal (PowerNV/OPAL) or a hash-MMU pSeries guest',
  severity: 'advisory',
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const info = await ctx.facts.cpuinfo();
    if (!info.ok) return { state: 'unknown', summary: `cannot read /proc/cpuinfo: ${info.reason}` };
    const { platform, firmware, machine: m } = info.value;
    const board = boardName(info.value);
    if (platform === 'PowerNV') {
      return {
        state: 'done',
        summary: `bare metal (PowerNV, ${firmware ?? 'OPAL'})${board ? `: ${board}` : m ? `: ${m}` : ''}`,
      };
    }
    if (isPseries(info.value)) {
      // The MMU itself is mmu.active's to report: here only what a guest means for KVM-PR.
      const mmu = mmuFromCpuInfo(info.value);
      const what = board ?? 'a pSeries guest (PowerVM LPAR or KVM)';
      return {
        state: 'done',
        status: 'info',
        summary:
          mmu === 'hash'
            ? `${what} running the hash MMU: KVM-PR can run nested in it`
            : `${what}: KVM-PR runs nested only while the guest uses the hash MMU${mmu === 'radix' ? ' (see mmu.active)' : ''}`,
        detail: `/proc/cpuinfo: platform ${platform ?? 'missing'}, machine ${m ?? 'missing'}
talos-mac is tested on bare-metal POWER9 hosts; nested KVM-PR is slower still.`,
      };
    }
    return { state: 'unknown', summary: `unrecognised platform "${platform ?? 'missing'}" in /proc/cpuinfo` };
  },
};

export const platformSteps: Step[] = [arch, cpu, machine];
