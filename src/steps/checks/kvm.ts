import { UserError } from '../../errors.js';
import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { membership, withShadowRoot } from '../host-changes/access.js';
import { explainModprobeFailure } from '../host-changes/modprobe-errors.js';
import { HV_BLACKLIST_FILE, loadedAtBoot, MODULES_LOAD_FILE, moduleUseCount, procModules } from '../host-changes/modules.js';
import { RELOAD_HV, UNLOAD_PR } from '../../kernel/module-load.js';
import { anyOf, exactly, removesCreated, runsUndo } from '../../privileged/revert.js';
import { warnsInDoctor, type Step, type StepContext, type StepResult } from '../step.js';
import { unlessPower } from './common.js';
import { assessKvmPr } from './kvm-pr-verdict.js';

export const kvmPrLoaded: Step = {
  id: 'kvm.pr-loaded',
  aliases: ['kvm.pr-load'],
  category: 'KVM',
  title: 'Load the kvm_pr module',
  severity: 'required',
  // Versions that named this step kvm.pr-load also wrote the modules-load file under it.
  undo: anyOf(runsUndo(exactly(UNLOAD_PR)), removesCreated(MODULES_LOAD_FILE)),
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
        summary: `kvm_pr is not loaded: it needs ${a.verdict === 'new-kernel-needed' ? 'a kernel with KVM-PR (kernel.pr-support)' : 'the module built (kernel.pr-module)'}${radix ? ' and the hash MMU' : ''} first`,
        detail: a.reason,
      };
    }
    if (radix) {
      return {
        state: 'blocked',
        summary: 'kvm_pr is not loaded, and cannot be while the radix MMU runs (modprobe fails with Input/output error): after the reboot into hash, run talos-mac setup again',
        detail: `${a.reason}\nSwitch to the hash MMU first (mmu.active), then load it.`,
      };
    }
    return {
      state: 'todo',
      summary: 'kvm_pr is installed but not loaded',
      detail: a.reason,
      fix: { text: 'Load the module.', commands: ['sudo modprobe kvm_pr'] },
    };
  },
  async apply(ctx, changes) {
    const mods = await procModules(ctx.facts);
    if (mods !== undefined && moduleUseCount(mods, 'kvm_pr') !== undefined) return;
    const argv = ['modprobe', 'kvm_pr'];
    const r = await changes.runner.command(this, argv, { undo: UNLOAD_PR, allowFailure: true });
    if (r.exitCode !== 0) throw new UserError(explainModprobeFailure(r), 1);
  },
};

const prAtBoot: Step = {
  id: 'kvm.pr-at-boot',
  category: 'KVM',
  title: 'Load kvm_pr at every boot',
  severity: 'required',
  undo: removesCreated(MODULES_LOAD_FILE),
  verify: async (ctx) => warnsInDoctor(await atBootResult(ctx)),
  async apply(ctx, changes) {
    if (await loadedAtBoot(ctx, 'kvm_pr')) return;
    await changes.runner.createFile(this, MODULES_LOAD_FILE, Buffer.from('# Written by talos-mac setup: load KVM-PR at boot (remove with: talos-mac setup --undo)\nkvm_pr\n'));
  },
};

/** Does something load kvm_pr at boot? Asked once kvm_pr is loaded (or built in). */
async function atBootResult(ctx: StepContext): Promise<StepResult> {
  const skip = await unlessPower(ctx);
  if (skip) return skip;
  const a = await assessKvmPr(ctx.facts);
  if (a.verdict === 'unknown') return { state: 'unknown', summary: a.reason };
  if (a.moduleFile === 'builtin') return { state: 'done', summary: 'kvm_pr is built into the kernel' };
  if (a.verdict !== 'ready') {
    // Counted once, under kvm.pr-loaded: a boot that cannot load kvm_pr gains nothing from the entry.
    return { state: 'blocked', status: 'skip', summary: 'asked once kvm_pr is loaded (kvm.pr-loaded)' };
  }
  const atBoot = await loadedAtBoot(ctx, 'kvm_pr');
  if (atBoot) return { state: 'done', summary: `kvm_pr loads at boot (${atBoot})` };
  return {
    state: 'todo',
    summary: `nothing loads kvm_pr at boot: after a reboot it is gone until someone runs modprobe kvm_pr`,
    fix: { text: `List kvm_pr in ${MODULES_LOAD_FILE}.`, commands: [`echo kvm_pr | sudo tee ${MODULES_LOAD_FILE}`] },
  };
}

const UDEV_COMMANDS = [
  'sudo groupadd -f kvm',
  `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0660"' | sudo tee /etc/udev/rules.d/65-talos-mac-kvm.rules`,
  'sudo udevadm trigger --name-match=kvm',
];

/** doctor: may the user running talos-mac open /dev/kvm read-write now? */
async function accessForSelf(ctx: StepContext, perms: string, owner: string | undefined, pr: 'ready' | 'not-ready'): Promise<StepResult> {
  const dev = await ctx.facts.pathInfo('/dev/kvm');
  if (dev.readable && dev.writable) {
    if (pr !== 'ready') {
      return { state: 'done', status: 'warn', summary: `/dev/kvm is usable, but proves nothing by itself: without kvm_pr, mac99 fails with KVM_CREATE_VM: Invalid argument`, detail: perms };
    }
    return { state: 'done', summary: `/dev/kvm is read-write for this user (${perms})` };
  }
  const id = await ctx.facts.identity();
  const inGroup = id.ok && owner !== undefined && id.value.groups.includes(owner);
  const group = owner && owner !== 'root' ? owner : 'kvm';
  const summary = `/dev/kvm is not read-write for this user (${perms})`;
  if (inGroup) {
    return {
      state: 'todo',
      summary,
      detail: `You are in group ${owner} already, but this login predates it: log out and back in.`,
      manual: 'a new login is needed for the group membership to take effect',
      fix: { text: 'Start a new login session (log out and in) so the group membership takes effect.' },
    };
  }
  if (owner === 'root' || owner === undefined) {
    return {
      state: 'todo',
      summary,
      detail: '/dev/kvm belongs to root only: give it a kvm group with a udev rule.',
      manual: 'talos-mac does not write udev rules',
      fix: { text: 'Add yourself to the kvm group, then log out and back in.', commands: [...UDEV_COMMANDS, 'sudo usermod -aG kvm "$USER"'] },
    };
  }
  return {
    state: 'todo',
    summary,
    detail: `Members of group ${owner} may use /dev/kvm.`,
    fix: { text: `Add yourself to the ${group} group, then log out and back in.`, commands: [`sudo usermod -aG ${group} "$USER"`] },
  };
}

/** setup --user NAME: is that user in the group that owns /dev/kvm? (Membership, not this session.) */
async function accessForUser(ctx: StepContext, user: string): Promise<StepResult> {
  const dev = await ctx.facts.pathInfo('/dev/kvm');
  if (user === 'root') return { state: 'done', summary: 'root may use /dev/kvm (to set up another user: --user NAME)' };
  const mode = dev.mode ? parseInt(dev.mode, 8) : 0;
  const { group, member } = dev.gid !== undefined ? await membership(ctx, user, dev.gid) : { member: false };
  if (!group || group === 'root' || (mode & 0o060) !== 0o060) {
    return {
      state: 'todo',
      summary: `/dev/kvm (${dev.mode ?? '?'}, group ${group ?? dev.gid ?? '?'}) is not read-write for a group`,
      manual: 'talos-mac does not write udev rules',
      fix: { text: 'Give /dev/kvm a kvm group with a udev rule, then run setup again.', commands: UDEV_COMMANDS },
    };
  }
  if (member) {
    const id = await ctx.facts.identity();
    const session = id.ok && id.value.groups.includes(group);
    return { state: 'done', summary: `${user} is in group ${group}, which owns /dev/kvm${session ? '' : ' — a new login is needed for it to take effect (log out and back in)'}` };
  }
  return { state: 'todo', summary: `${user} is not in group ${group}, which owns /dev/kvm (${dev.mode}): usermod -aG ${group} ${user}`, fix: { text: `Add ${user} to group ${group}, then log out and back in.`, commands: [`sudo usermod -aG ${group} ${user}`] } };
}

export const kvmDevice: Step = {
  id: 'kvm.device',
  aliases: ['kvm.dev-access'],
  category: 'KVM',
  title: 'Give the user read-write access to /dev/kvm',
  severity: 'required',
  // gpasswd -d USER GROUP, on the system under --root when there is one.
  undo: runsUndo(
    (u) => u.length === 4 && u[0] === 'gpasswd' && u[1] === '-d' && /^[a-z_][a-z0-9_.-]*\$?$/.test(u[2]!) && /^[a-z_][a-z0-9_.-]*$/.test(u[3]!),
    (u, runner) => withShadowRoot(u, runner.options.root),
  ),
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
        manual: 'talos-mac does not create device nodes',
        fix: { text: 'Create the device node, or reload the module.', commands: ['sudo modprobe -r kvm_pr kvm', 'sudo modprobe kvm_pr'] },
      };
    }
    if (ctx.options.user !== undefined) return accessForUser(ctx, ctx.options.user);
    const owner = dev.gid !== undefined ? await ctx.facts.groupName(dev.gid) : undefined;
    return accessForSelf(ctx, `${dev.mode ?? '?'} ${dev.uid ?? '?'}:${owner ?? dev.gid ?? '?'}`, owner, a.verdict === 'ready' ? 'ready' : 'not-ready');
  },
  async apply(ctx, changes) {
    const user = ctx.options.user;
    const dev = await ctx.facts.pathInfo('/dev/kvm');
    if (user === undefined) {
      // A snapshot's plan: its user (who collected it) is known by uid only, as doctor saw it.
      if (!changes.runner.dryRun) throw new Error('kvm.device: no user to give /dev/kvm access to');
      const owner = dev.gid !== undefined ? await ctx.facts.groupName(dev.gid) : undefined;
      changes.runner.describe(`add the user who collected this snapshot to group ${owner ?? 'kvm'} (usermod -aG ${owner ?? 'kvm'} USER)`);
      return;
    }
    const { group } = await membership(ctx, user, dev.gid ?? -1);
    if (!group) return;
    const argv = withShadowRoot(['usermod', '-aG', group, user], changes.runner.options.root);
    await changes.runner.command(this, argv, { undo: ['gpasswd', '-d', user, group] });
    if (!changes.runner.dryRun) changes.runner.options.out(`  ${user} joins group ${group} at the next login: log out and back in (or reboot) before using KVM.`);
  },
};

const hvLoaded: Step = {
  id: 'kvm.hv-loaded',
  aliases: ['kvm.hv-unload'],
  category: 'KVM',
  title: 'Unload kvm_hv (advised by the Talospace guide)',
  severity: 'advisory',
  undo: anyOf(runsUndo(exactly(RELOAD_HV)), removesCreated(HV_BLACKLIST_FILE)),
  preset: (options) => (options.kvmHv === undefined ? undefined : options.kvmHv !== 'keep'),
  async verify(ctx) {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const mods = await procModules(ctx.facts);
    if (mods === undefined) return { state: 'unknown', summary: 'cannot read /proc/modules' };
    const used = moduleUseCount(mods, 'kvm_hv');
    if (used === undefined) return { state: 'done', summary: 'kvm_hv is not loaded' };
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
    const inUse = used > 0 ? ` and in use (use count ${used}: KVM-HV guests running?)` : '';
    return {
      state: 'todo',
      summary:
        pr.verdict === 'ready'
          ? `kvm_hv is loaded too${inUse}: mac99 still gets a PR VM, but the Talospace guide advises unloading it`
          : `kvm_hv is loaded${inUse}: once kvm_pr loads too, mac99 gets a PR VM all the same, but the Talospace guide advises unloading kvm_hv`,
      detail: "QEMU's mac99 machine always asks for a PR VM, so kvm_hv beside kvm_pr does not stop it. Keep kvm_hv if you run POWER (HV) guests too. Unloading lasts until the next boot unless you also choose to blacklist it.",
      ...(used > 0 ? { manual: 'kvm_hv is in use: stop the KVM-HV guests first' } : {}),
      fix: { text: 'If no KVM-HV guest is running, unload it.', commands: ['sudo modprobe -r kvm_hv'] },
    };
  },
  async apply(ctx, changes) {
    const mods = (await procModules(ctx.facts)) ?? '';
    const used = moduleUseCount(mods, 'kvm_hv') ?? 0;
    if (used > 0) {
      changes.runner.options.out(`  kvm_hv is in use (use count ${used}): left loaded. Stop the KVM-HV guests first, then run setup again.`);
      return;
    }
    const blacklist =
      ctx.options.kvmHv !== undefined
        ? ctx.options.kvmHv === 'blacklist'
        : await changes.prompts.confirm({ message: `Also keep kvm_hv from loading at boot (writes ${HV_BLACKLIST_FILE})?`, default: false, unattended: false });
    const argv = ['modprobe', '-r', 'kvm_hv'];
    const r = await changes.runner.command(this, argv, { undo: RELOAD_HV, allowFailure: true });
    if (r.exitCode !== 0) throw new UserError(explainModprobeFailure(r, 'kvm_hv'), 1);
    if (blacklist) {
      await changes.runner.createFile(this, HV_BLACKLIST_FILE, Buffer.from('# Written by talos-mac setup: KVM-PR Mac guests do not need KVM-HV (remove with: talos-mac setup --undo)\nblacklist kvm_hv\n'));
    }
  },
};

/** In setup's order: load, persist, give access; kvm_hv last (advice: a "no" must not stop the rest). */
export const kvmSteps: Step[] = [kvmPrLoaded, prAtBoot, kvmDevice, hvLoaded];
