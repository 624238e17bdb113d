import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import type { Step, StepResult } from '../step.js';
import { unlessPower } from './common.js';
import { assessKvmPr } from './kvm-pr-verdict.js';

const prLoaded: Step = {
  id: 'kvm.pr-loaded',
  category: 'KVM',
  title: 'Load the kvm_pr module',
  severity: 'required',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const a = await assessKvmPr(ctx.facts);
    if (a.verdict === 'ready') return { state: 'done', summary: a.reason };
    if (a.verdict === 'unknown') return { state: 'unknown', summary: a.reason };
    const info = await ctx.facts.cpuinfo();
    const radix = info.ok && mmuFromCpuInfo(info.value) === 'radix';
    if (a.verdict === 'new-kernel-needed' || a.verdict === 'module-must-be-built') {
      return {
        state: 'blocked',
        summary: `kvm_pr is not loaded: it needs ${a.verdict === 'new-kernel-needed' ? 'a kernel with KVM-PR' : 'the module built'}${radix ? ' and the hash MMU' : ''} first`,
        detail: a.reason,
      };
    }
    if (radix) {
      return {
        state: 'blocked',
        summary: 'kvm_pr is not loaded, and cannot be while the radix MMU runs (modprobe fails with Input/output error)',
        detail: `${a.reason}\nSwitch to the hash MMU first (mmu.active), then load it.`,
      };
    }
    return {
      state: 'todo',
      summary: 'kvm_pr is installed but not loaded',
      detail: a.reason,
      fix: { text: 'Load the module (and list it in /etc/modules-load.d/ to load it at boot).', commands: ['sudo modprobe kvm_pr'], bySetup: true },
    };
  },
};

const hvLoaded: Step = {
  id: 'kvm.hv-loaded',
  category: 'KVM',
  title: 'Unload kvm_hv (advice)',
  severity: 'advisory',
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const mods = await ctx.facts.loadedModules();
    if (!mods.ok) return { state: 'unknown', summary: `cannot list loaded modules: ${mods.reason}` };
    if (!mods.value.has('kvm_hv')) return { state: 'done', summary: 'kvm_hv is not loaded' };
    const pr = await assessKvmPr(ctx.facts);
    if (pr.verdict !== 'ready' && pr.verdict !== 'module-needs-loading') {
      // No kvm_pr to run beside it: unloading kvm_hv would change nothing for mac99 yet.
      return {
        state: 'done',
        status: 'info',
        summary: 'kvm_hv is loaded: it runs POWER (HV) guests only; mac99 needs kvm_pr, which this kernel does not have yet (see kvm.pr-loaded)',
        detail: pr.reason,
      };
    }
    return {
      state: 'todo',
      summary:
        pr.verdict === 'ready'
          ? 'kvm_hv is loaded too: mac99 still gets a PR VM, but the Talospace guide advises unloading it'
          : 'kvm_hv is loaded: once kvm_pr loads too, mac99 gets a PR VM all the same, but the Talospace guide advises unloading kvm_hv',
      detail: 'QEMU\'s mac99 machine always asks for a PR VM, so kvm_hv beside kvm_pr does not stop it. Keep kvm_hv if you run POWER (HV) guests too.',
      fix: { text: 'If no KVM-HV guest is running, unload it.', commands: ['sudo modprobe -r kvm_hv'], bySetup: true },
    };
  },
};

const device: Step = {
  id: 'kvm.device',
  category: 'KVM',
  title: 'Give this user read-write access to /dev/kvm',
  severity: 'required',
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const [dev, a] = await Promise.all([ctx.facts.pathInfo('/dev/kvm'), assessKvmPr(ctx.facts)]);
    if (!dev.exists) {
      // Counted once, under kvm.pr-loaded: /dev/kvm appears when a KVM module loads.
      if (a.verdict !== 'ready') return { state: 'blocked', status: 'skip', summary: '/dev/kvm does not exist yet: it appears when kvm_pr loads' };
      return {
        state: 'todo',
        summary: '/dev/kvm does not exist although kvm_pr is loaded (is devtmpfs/udev running?)',
        fix: { text: 'Create the device node, or reload the module.', commands: ['sudo modprobe -r kvm_pr kvm', 'sudo modprobe kvm_pr'] },
      };
    }
    const owner = dev.gid !== undefined ? await ctx.facts.groupName(dev.gid) : undefined;
    const perms = `${dev.mode ?? '?'} ${dev.uid ?? '?'}:${owner ?? dev.gid ?? '?'}`;
    if (dev.readable && dev.writable) {
      if (a.verdict !== 'ready') {
        return {
          state: 'done',
          status: 'warn',
          summary: `/dev/kvm is usable, but proves nothing by itself: without kvm_pr, mac99 fails with KVM_CREATE_VM: Invalid argument`,
          detail: perms,
        };
      }
      return { state: 'done', summary: `/dev/kvm is read-write for this user (${perms})` };
    }
    const id = await ctx.facts.identity();
    const inGroup = id.ok && owner !== undefined && id.value.groups.includes(owner);
    const group = owner && owner !== 'root' ? owner : 'kvm';
    return {
      state: 'todo',
      summary: `/dev/kvm is not read-write for this user (${perms})`,
      detail: inGroup
        ? `You are in group ${owner} already, but this login predates it: log out and back in.`
        : owner === 'root' || owner === undefined
          ? '/dev/kvm belongs to root only: give it a kvm group with a udev rule.'
          : `Members of group ${owner} may use /dev/kvm.`,
      fix: inGroup
        ? { text: 'Start a new login session (log out and in) so the group membership takes effect.' }
        : {
            text: `Add yourself to the ${group} group, then log out and back in.`,
            commands:
              owner === 'root' || owner === undefined
                ? [
                    'sudo groupadd -f kvm',
                    `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0660"' | sudo tee /etc/udev/rules.d/65-talos-mac-kvm.rules`,
                    'sudo udevadm trigger --name-match=kvm',
                    'sudo usermod -aG kvm "$USER"',
                  ]
                : [`sudo usermod -aG ${group} "$USER"`],
            bySetup: true,
          },
    };
  },
};

export const kvmSteps: Step[] = [prLoaded, hvLoaded, device];
