import { UserError } from '../../errors.js';
import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import type { SetupDeps, SetupStepFactory } from '../../setup/deps.js';
import type { Facts } from '../facts.js';
import { unlessPower } from '../checks/common.js';
import { assessKvmPr } from '../checks/kvm-pr-verdict.js';
import type { Step, StepContext, StepResult } from '../step.js';
import { explainModprobeFailure } from './modprobe-errors.js';

export const MODULES_LOAD_FILE = '/etc/modules-load.d/talos-mac.conf';
export const HV_BLACKLIST_FILE = '/etc/modprobe.d/talos-mac-kvm-hv.conf';

/** Use count of a loaded module from /proc/modules ("kvm_hv 393216 0 - Live …"); undefined if not loaded. */
export function moduleUseCount(procModules: string, name: string): number | undefined {
  for (const line of procModules.split('\n')) {
    const [n, , count] = line.trim().split(/\s+/);
    if (n === name) return Number(count) || 0;
  }
  return undefined;
}

/** Is the module listed for loading at boot (modules-load.d, or Debian's /etc/modules)? */
async function loadedAtBoot(ctx: StepContext, name: string): Promise<string | undefined> {
  const files: string[] = [];
  for (const dir of ['/etc/modules-load.d', '/usr/lib/modules-load.d', '/lib/modules-load.d']) {
    const d = await ctx.host.readDir(dir);
    if (d.ok) files.push(...d.entries.filter((e) => e.endsWith('.conf')).map((e) => `${dir}/${e}`));
  }
  files.push('/etc/modules');
  const alt = name.replace(/_/g, '-');
  for (const f of files) {
    const t = await ctx.facts.text(f);
    if (!t.ok) continue;
    const listed = t.value.split('\n').some((l) => {
      const w = l.replace(/[#;].*$/, '').trim();
      return w === name || w === alt;
    });
    if (listed) return f;
  }
  return undefined;
}

async function procModules(facts: Facts): Promise<string | undefined> {
  const t = await facts.text('/proc/modules');
  return t.ok ? t.value : undefined;
}

/** Writes a file talos-mac owns (a new file), recorded so that --undo removes it. */
async function writeOwnedFile(deps: SetupDeps, step: string, path: string, text: string): Promise<void> {
  await deps.runner.createFile(step, path, Buffer.from(text));
}

export const loadKvmPr: SetupStepFactory = (deps): Step => ({
  id: 'kvm.pr-load',
  category: 'KVM',
  title: 'Load kvm_pr now and at every boot',
  severity: 'required',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const a = await assessKvmPr(ctx.facts);
    if (a.verdict === 'unknown') return { state: 'unknown', summary: a.reason };
    const atBoot = a.moduleFile === 'builtin' ? 'built in' : await loadedAtBoot(ctx, 'kvm_pr');
    if (a.verdict === 'ready') {
      if (atBoot) return { state: 'done', summary: `kvm_pr is loaded, and loads at boot (${atBoot})` };
      return { state: 'todo', summary: `kvm_pr is loaded, but nothing loads it at boot: write ${MODULES_LOAD_FILE}` };
    }
    if (a.verdict === 'module-must-be-built' || a.verdict === 'new-kernel-needed') {
      return { state: 'blocked', summary: 'kvm_pr cannot be loaded until the kernel has it (kernel.build-module or kernel.build-kernel)', detail: a.reason };
    }
    const info = await ctx.facts.cpuinfo();
    if (info.ok && mmuFromCpuInfo(info.value) === 'radix') {
      return {
        state: 'blocked',
        summary: 'kvm_pr loads only under the hash MMU: after the reboot into hash (mmu.hash-next-boot), run talos-mac setup again',
        detail: a.reason,
      };
    }
    return { state: 'todo', summary: `kvm_pr is installed but not loaded: modprobe kvm_pr${atBoot ? '' : `, and list it in ${MODULES_LOAD_FILE}`}`, detail: a.reason };
  },
  async apply(ctx) {
    const mods = await procModules(ctx.facts);
    if (mods === undefined || moduleUseCount(mods, 'kvm_pr') === undefined) {
      const argv = ['modprobe', 'kvm_pr'];
      await deps.recorder.around({ kind: 'command', step: 'kvm.pr-load', argv, undo: ['modprobe', '-r', 'kvm_pr'] }, async () => {
        const r = await deps.runner.run(argv, { allowFailure: true });
        if (r.exitCode !== 0) throw new UserError(explainModprobeFailure(r), 1);
      });
    }
    if (!(await loadedAtBoot(ctx, 'kvm_pr'))) {
      await writeOwnedFile(deps, 'kvm.pr-load', MODULES_LOAD_FILE, '# Written by talos-mac setup: load KVM-PR at boot (remove with: talos-mac setup --undo)\nkvm_pr\n');
    }
  },
});

export const unloadKvmHv: SetupStepFactory = (deps): Step => ({
  id: 'kvm.hv-unload',
  category: 'KVM',
  title: 'Unload kvm_hv (advised by the Talospace guide)',
  severity: 'advisory',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const mods = await procModules(ctx.facts);
    if (mods === undefined) return { state: 'unknown', summary: 'cannot read /proc/modules' };
    const used = moduleUseCount(mods, 'kvm_hv');
    if (used === undefined) return { state: 'done', summary: 'kvm_hv is not loaded' };
    return {
      state: 'todo',
      summary: `kvm_hv is loaded${used > 0 ? ` and in use (use count ${used}: KVM-HV guests running?)` : ' (not in use)'}; mac99 works beside it, but the guide advises unloading it`,
      detail: 'Keep kvm_hv if you run POWER (KVM-HV) guests. Unloading lasts until the next boot unless you also choose to blacklist it.',
    };
  },
  async apply(ctx) {
    const mods = (await procModules(ctx.facts)) ?? '';
    const used = moduleUseCount(mods, 'kvm_hv') ?? 0;
    if (used > 0) {
      deps.runner.options.out(`  kvm_hv is in use (use count ${used}): left loaded. Stop the KVM-HV guests first, then run setup again.`);
      return;
    }
    const blacklist =
      deps.kvmHv !== undefined
        ? deps.kvmHv === 'blacklist'
        : await deps.prompts.confirm({
            message: `Also keep kvm_hv from loading at boot (writes ${HV_BLACKLIST_FILE})?`,
            default: false,
            unattended: false,
          });
    const argv = ['modprobe', '-r', 'kvm_hv'];
    await deps.recorder.around({ kind: 'command', step: 'kvm.hv-unload', argv, undo: ['modprobe', 'kvm_hv'] }, async () => {
      const r = await deps.runner.run(argv, { allowFailure: true });
      if (r.exitCode !== 0) throw new UserError(explainModprobeFailure(r, 'kvm_hv'), 1);
    });
    if (blacklist) {
      await writeOwnedFile(deps, 'kvm.hv-unload', HV_BLACKLIST_FILE, '# Written by talos-mac setup: KVM-PR Mac guests do not need KVM-HV (remove with: talos-mac setup --undo)\nblacklist kvm_hv\n');
    }
  },
});
