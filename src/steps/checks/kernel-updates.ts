import { removesCreated, removesModules, runsUndo } from '../../privileged/revert.js';
import { installPrModules } from '../../kernel/module-load.js';
import { DEFAULT_LOCALVERSION } from '../../kernel/options.js';
import { undoNewKernel } from '../../kernel/new-kernel-undo.js';
import { debPackageVersion } from '../../kernel/provenance.js';
import { kernelConfigPaths } from '../../distro/kernel-files.js';
import { HOOK_PATH, hookScript, hookSupported } from '../../kernel/hook.js';
import { buildCpus, kernelBuildCost, kernelPipeline } from './kernel-build.js';
import {
  builtFromVersion,
  debImages,
  grubEntryFor,
  hookRecorded,
  installedReleases,
  moduleVermagic,
  newerImages,
  nextBoot,
  prAbility,
  talosKernels,
  rebuildLocalVersion,
  upstreamOfDebVersion,
  type NextBoot,
  type TalosKernels,
} from '../../kernel/updates.js';
import { moduleInstallDir } from '../../privileged/record.js';
import { shellLine } from '../../ui/shell-quote.js';
import { hasFeature, sourcePackage } from '../../distro/distro.js';
import type { Fix, Step, StepContext, StepResult } from '../step.js';
import { unlessPower } from './common.js';

const CATEGORY = 'Kernel';
const suffixOf = (ctx: StepContext): string => ctx.options.kernel.localVersion ?? DEFAULT_LOCALVERSION;
const nothingOurs: StepResult = { state: 'not-applicable', summary: 'talos-mac has installed no kernel or kvm-pr module here' };

/** What talos-mac built here, or the result to give when that question does not arise. */
async function ours(ctx: StepContext): Promise<TalosKernels | StepResult> {
  const skip = await unlessPower(ctx);
  if (skip) return skip;
  const t = await talosKernels(ctx.facts, suffixOf(ctx));
  return t.kernels.length === 0 && t.modules.length === 0 ? nothingOurs : t;
}
const isResult = (x: TalosKernels | StepResult): x is StepResult => 'state' in x;

/** The configuration file a build for `release` starts from: where its distribution's layout put it (Facts.kernelConfigOf). */
async function configFile(ctx: StepContext, release: string): Promise<string> {
  const c = await ctx.facts.kernelConfigOf(release);
  return c.ok ? c.source : kernelConfigPaths(release, (await ctx.facts.distro()).kernelLayout)[0]!;
}

export const runningTalosKernel: Step = {
  id: 'kernel.running-talosmac',
  category: CATEGORY,
  title: "Run talos-mac's kernel",
  severity: 'info',
  async verify(ctx) {
    const t = await ours(ctx);
    if (isResult(t)) return t;
    if (t.kernels.length === 0) return { state: 'not-applicable', summary: `talos-mac built no kernel here (its kvm-pr module is installed for ${t.modules.join(', ')})` };
    const rel = await ctx.facts.release();
    if (!rel.ok) return { state: 'unknown', summary: rel.reason };
    const mine = t.kernels.find((k) => k.release === rel.value);
    if (mine) {
      const from = mine.provenance ? builtFromVersion(mine.provenance) : undefined;
      return {
        state: 'done',
        summary: `running talos-mac's ${rel.value}${from ? ` (built from ${from.name} ${from.version})` : mine.provenance ? '' : ' (no record of what it was built from: built before talos-mac kept one)'}`,
        ...(mine.provenance ? { detail: `configuration of ${mine.provenance.configFrom.release} (${mine.provenance.configFrom.path}); source ${mine.provenance.source.origin} (Linux ${mine.provenance.source.upstream}); ${mine.provenance.reduce ? `reduced to ${mine.provenance.reduce.modules.length} modules (${mine.provenance.reduce.from})` : 'not reduced'}` } : {}),
      };
    }
    const able = await prAbility(ctx.facts, rel.value);
    const newest = t.kernels[0]!.release;
    if (able.can === 'yes') return { state: 'done', summary: `running ${rel.value}, not talos-mac's ${newest}; it can do KVM-PR (${able.why})` };
    return {
      state: 'todo',
      summary: `running ${rel.value}, which cannot do KVM-PR (${able.why}); talos-mac's ${newest} is installed`,
      manual: 'it takes a reboot into that kernel',
      fix: { text: `Reboot into ${newest} (choose it in Petitboot, or make it the default: see kernel.default-entry).`, commands: ['talos-mac doctor kernel.default-entry'] },
    };
  },
};

/** The newest talos-mac kernel with a record, and the distribution images newer than what it was built from. */
async function behind(ctx: StepContext, t: TalosKernels) {
  const d = await ctx.facts.distro();
  if (!hasFeature(d, 'dpkg')) return { unknown: `talos-mac compares kernel package versions on Debian-family hosts only (${d.name})` } as const;
  const recorded = t.kernels.find((k) => k.provenance);
  if (!recorded?.provenance) return { unknown: `no record of what ${t.kernels[0]!.release} was built from (it was built before talos-mac kept one)` } as const;
  const images = await debImages(ctx.facts);
  if (!images.ok) return { unknown: images.reason } as const;
  const suffix = suffixOf(ctx);
  const newer = newerImages(recorded.provenance, images.value, suffix);
  return { kernel: recorded.release, provenance: recorded.provenance, newer, distro: d } as const;
}

/** What a rebuild for that release needs first: its source package at least as new as its image. */
async function sourceBehind(ctx: StepContext, release: string, imageVersion: string) {
  const d = await ctx.facts.distro();
  const pkg = sourcePackage(d, release);
  if (!pkg) return undefined;
  const have = await debPackageVersion(ctx.host, pkg);
  const { compareDebVersions } = await import('../../kernel/deb-version.js');
  return !have || compareDebVersions(have.version, imageVersion) < 0 ? { pkg, have: have?.version } : undefined;
}

export const distroKernelNewer: Step = {
  id: 'kernel.distro-newer',
  category: CATEGORY,
  title: "Rebuild talos-mac's kernel from the distribution's newer kernel",
  severity: 'advisory',
  undo: undoNewKernel,
  runningSystemOnly: true,
  async verify(ctx) {
    const t = await ours(ctx);
    if (isResult(t)) return t;
    if (t.kernels.length === 0) return { state: 'not-applicable', summary: 'talos-mac built no kernel here (module-only host: see kernel.module-stale)' };
    const b = await behind(ctx, t);
    if ('unknown' in b) return { state: 'unknown', summary: b.unknown! };
    const from = builtFromVersion(b.provenance)!;
    if (b.newer.length === 0) {
      const rel = await ctx.facts.release();
      const summary = `${b.kernel} is built from ${from.name} ${from.version}; no newer distribution kernel is installed`;
      // Rebuilt, not yet booted: the same words kernel.pr-support uses, which setup's reboot check reads.
      if (rel.ok && rel.value !== b.kernel) return { state: 'reboot-required', summary: `${b.kernel} is installed: reboot into it (${summary})` };
      return { state: 'done', summary };
    }
    const n = b.newer[0]!;
    const recorded = await hookRecorded(ctx.facts);
    const detail = [
      `installed since: ${b.newer.map((i) => `${i.name} ${i.version}`).join(', ')}`,
      `the rebuild starts from ${await configFile(ctx, n.release)} with the same changes (${b.provenance.edits.map((e) => e.key.replace(/^CONFIG_/, '') + (e.op === 'set-str' ? `=${e.value}` : `=${e.op === 'module' ? 'm' : e.op === 'enable' ? 'y' : 'n'}`)).join(', ')})${b.provenance.reduce ? ` and the same host reduction (${b.provenance.reduce.modules.length} modules from ${b.provenance.reduce.from})` : ''}; ${b.kernel} stays installed as a fallback`,
      ...(recorded.length ? [`the kernel hook recorded: ${recorded.join(', ')}`] : []),
    ].join('\n');
    const summary = `the distribution's ${n.release} (${n.version}) is newer than ${from.name} ${from.version}, which ${b.kernel} was built from: security fixes are waiting`;
    const src = await sourceBehind(ctx, n.release, n.version);
    if (src) {
      return {
        state: 'todo',
        summary,
        detail,
        manual: `the rebuild needs ${src.pkg} ${n.version} (${src.have ? `${src.have} is installed` : 'not installed'})`,
        fix: { text: `Bring ${src.pkg} up to ${n.version}, then rebuild.`, commands: [...(b.distro.packages ? [shellLine(['sudo', ...b.distro.packages.upgrade([src.pkg])])] : []), 'talos-mac setup --build-kernel'] },
      };
    }
    return {
      state: 'todo',
      summary,
      detail,
      cost: await kernelBuildCost(ctx),
      ...(ctx.options.buildKernel ? {} : { onlyWith: '--build-kernel' }),
      fix: { text: `Rebuild the KVM-PR kernel from ${n.release}'s configuration and source (hours), install it beside ${b.kernel}, reboot.`, commands: ['talos-mac setup --build-kernel'] },
    };
  },
  async apply(ctx, changes) {
    const t = await ours(ctx);
    if (isResult(t) || !ctx.options.buildKernel) return;
    const b = await behind(ctx, t);
    if ('unknown' in b || b.newer.length === 0) return;
    const n = b.newer[0]!;
    const o = ctx.options.kernel;
    const r = changes.runner;
    const config = await configFile(ctx, n.release);
    const upstream = upstreamOfDebVersion(n.version);
    const localVersion = rebuildLocalVersion(upstream, suffixOf(ctx), t.kernels.map((k) => k.release));
    const reduce = o.reduce ?? (b.provenance.reduce ? { from: `${b.provenance.reduce.from} (as for ${b.kernel})`, modules: b.provenance.reduce.modules } : undefined);
    if (r.dryRun) {
      const cpuCount = await buildCpus(ctx);
      r.describe(`rebuild the KVM-PR kernel${upstream ? ` as ${upstream.join('.')}${localVersion}` : ''} from ${config} (the distribution's ${n.version}) with the same changes${reduce ? ` and the same reduction to the modules of ${reduce.from}` : ''}, ${cpuCount} CPU${cpuCount === 1 ? '' : 's'}`);
      r.describe(`install it beside ${b.kernel} (kept as a fallback entry) and record what it was built from; kernel.default-entry then checks that the next boot runs it`);
      return;
    }
    const { buildNewKernel, defaultJobs } = await kernelPipeline();
    await buildNewKernel({ ...o, host: ctx.host, release: n.release, config, ...(upstream ? { upstream } : {}), ...(reduce ? { reduce } : {}), runner: r, distro: b.distro, jobs: o.jobs ?? defaultJobs(), localVersion, step: this });
  },
};

/** GRUB's tool is grub2-set-default where GRUB is installed as grub2 (Fedora, RHEL, SUSE). */
const setDefaultProgram = (nb: NextBoot): string => (nb.grub?.cfg.startsWith('/boot/grub2/') ? 'grub2-set-default' : 'grub-set-default');

/** How to make `release` the default on this boot loader: the commands, and whether setup may run them. */
function defaultFix(nb: NextBoot, release: string, root: string): { fix: Fix; argv?: string[]; manual?: string } {
  if (nb.loader === 'grubby') {
    const argv = ['grubby', `--set-default=/boot/vmlinuz-${release}`];
    const fix = { text: `Make ${release} the default boot entry.`, commands: [shellLine(['sudo', ...argv])] };
    // grubby has no --root: it would change the running system's entries.
    return root === '/' ? { fix, argv } : { fix, manual: 'grubby acts on the running system, not on --root' };
  }
  const entry = grubEntryFor(nb, release);
  if (!entry) return { fix: { text: `grub.cfg has no entry for ${release}: regenerate it (sudo update-grub), then run talos-mac setup again.`, commands: ['sudo update-grub'] }, manual: `${nb.grub?.cfg ?? 'grub.cfg'} has no entry for ${release}` };
  const argv = [setDefaultProgram(nb), entry];
  if (nb.grub?.saved) return { fix: { text: `Make ${release} GRUB's saved default entry.`, commands: [shellLine(['sudo', ...argv])] }, argv };
  return {
    fix: {
      text: `GRUB boots entry "${nb.grub?.value}" by number or title: set GRUB_DEFAULT=saved in /etc/default/grub (keep a copy), regenerate, and save ${release} as the default.`,
      commands: ['sudo cp /etc/default/grub /etc/default/grub.orig', "sudo sed -i 's/^GRUB_DEFAULT=.*/GRUB_DEFAULT=saved/' /etc/default/grub", 'sudo update-grub', shellLine(['sudo', ...argv])],
    },
    manual: 'talos-mac changes GRUB_DEFAULT only when it already is "saved"',
  };
}

/** The newest talos-mac kernel that can do KVM-PR once booted. */
async function bestOurs(ctx: StepContext, t: TalosKernels): Promise<string | undefined> {
  for (const k of t.kernels) if ((await prAbility(ctx.facts, k.release)).can === 'yes') return k.release;
  return undefined;
}

/** The undo apply records: the saved entry (or grubby's default) as it was before. */
const previousDefault = (u: readonly string[]): boolean =>
  ((u[0] === 'grub-set-default' || u[0] === 'grub2-set-default') && u.length >= 2 && u.length <= 3 && u.slice(1, -1).every((a) => /^--boot-directory=\/\S*$/.test(a)) && !u[u.length - 1]!.startsWith('-')) ||
  (u[0] === 'grubby' && u.length === 2 && /^--set-default=\/\S+$/.test(u[1]!));

export const defaultBootEntry: Step = {
  id: 'kernel.default-entry',
  category: CATEGORY,
  title: 'Boot a kernel that can do KVM-PR by default',
  severity: 'advisory',
  undo: runsUndo(previousDefault),
  async verify(ctx) {
    const t = await ours(ctx);
    if (isResult(t)) return t;
    const nb = await nextBoot(ctx.facts);
    if (!nb.ok) return { state: 'unknown', summary: `cannot tell which kernel boots next: ${nb.reason}` };
    const able = await prAbility(ctx.facts, nb.value.release);
    const newest = await bestOurs(ctx, t);
    const older = newest !== undefined && newest !== nb.value.release && t.kernels.some((k) => k.release === nb.value.release);
    if (able.can === 'yes' && older) {
      const how = defaultFix(nb.value, newest, ctx.options.root);
      return { state: 'todo', summary: `the next boot runs talos-mac's older ${nb.value.release}, not the rebuilt ${newest}`, detail: nb.value.how, fix: how.fix, ...(how.manual ? { manual: how.manual } : {}) };
    }
    if (able.can === 'yes') return { state: 'done', summary: `the next boot runs ${nb.value.release}, which can do KVM-PR (${able.why})`, detail: nb.value.how };
    if (able.can === 'unknown') return { state: 'unknown', summary: `the next boot runs ${nb.value.release}: ${able.why}`, detail: nb.value.how };
    const target = newest;
    const summary = `the next boot runs ${nb.value.release}, which cannot do KVM-PR (${able.why}): a reboot loses KVM-PR`;
    if (!target) {
      return { state: 'blocked', summary, detail: nb.value.how, fix: { text: t.modules.length ? `Rebuild kvm-pr for ${nb.value.release} (kernel.module-stale).` : 'Rebuild talos-mac\'s kernel (kernel.distro-newer).', commands: ['talos-mac setup'] } };
    }
    const how = defaultFix(nb.value, target, ctx.options.root);
    return { state: 'todo', summary: `${summary}; ${target} can`, detail: `${nb.value.how}\n${target} stays installed; the distribution's kernel stays as a fallback entry`, fix: how.fix, ...(how.manual ? { manual: how.manual } : {}) };
  },
  async apply(ctx, changes) {
    const t = await ours(ctx);
    if (isResult(t)) return;
    const nb = await nextBoot(ctx.facts);
    const target = await bestOurs(ctx, t);
    if (!nb.ok || !target || target === nb.value.release) return;
    const can = (await prAbility(ctx.facts, nb.value.release)).can;
    if (can === 'unknown' || (can === 'yes' && !t.kernels.some((k) => k.release === nb.value.release))) return;
    const how = defaultFix(nb.value, target, ctx.options.root);
    if (!how.argv || how.manual) return;
    const root = ctx.options.root;
    if (nb.value.loader === 'grubby') {
      const prev = await ctx.facts.command(['grubby', '--default-kernel']);
      await changes.runner.command(this, how.argv, { undo: ['grubby', `--set-default=${prev.stdout.trim()}`] });
      return;
    }
    const bootDir = root === '/' ? [] : [`--boot-directory=${root.replace(/\/$/, '')}/boot`];
    await changes.runner.command(this, [how.argv[0]!, ...bootDir, how.argv[1]!], { undo: [how.argv[0]!, ...bootDir, nb.value.grub!.value] });
  },
};

/** The release a module-only host boots next, when talos-mac's module is not there for it. */
async function moduleTarget(ctx: StepContext, t: TalosKernels): Promise<string | undefined> {
  const nb = await nextBoot(ctx.facts);
  const installed = await installedReleases(ctx.facts);
  const candidates = nb.ok ? [nb.value.release] : [];
  const rel = await ctx.facts.release();
  if (rel.ok && !candidates.includes(rel.value)) candidates.push(rel.value);
  for (const r of candidates) {
    if (!installed.includes(r) || r.endsWith(suffixOf(ctx))) continue;
    if ((await prAbility(ctx.facts, r)).can === 'no' && !t.modules.includes(r)) return r;
  }
  return undefined;
}

/** talos-mac's modules read once: those built for another release than the kernel they sit under, and those that cannot be read. */
async function moduleMismatches(ctx: StepContext, t: TalosKernels): Promise<{ stale: { release: string; builtFor: string }[]; unreadable: string[] }> {
  const stale: { release: string; builtFor: string }[] = [];
  const unreadable: string[] = [];
  for (const release of t.modules) {
    const v = await moduleVermagic(ctx.facts, release);
    if (!v.ok) unreadable.push(v.reason);
    else if (v.value !== release) stale.push({ release, builtFor: v.value });
  }
  return { stale, unreadable };
}

/** What kernel.module-stale rebuilds: the next boot's kernel when it lacks the module, then each mismatched one. */
async function moduleTargets(ctx: StepContext, t: TalosKernels): Promise<{ targets: string[]; missing?: string; stale: { release: string; builtFor: string }[]; unreadable: string[] }> {
  const [missing, { stale, unreadable }] = await Promise.all([moduleTarget(ctx, t), moduleMismatches(ctx, t)]);
  return { targets: [...(missing ? [missing] : []), ...stale.map((m) => m.release)], ...(missing ? { missing } : {}), stale, unreadable };
}

export const staleModule: Step = {
  id: 'kernel.module-stale',
  category: CATEGORY,
  title: "Keep talos-mac's kvm-pr module matched to each kernel",
  severity: 'advisory',
  undo: removesModules,
  runningSystemOnly: true,
  async verify(ctx) {
    const t = await ours(ctx);
    if (isResult(t)) return t;
    if (t.modules.length === 0) return { state: 'not-applicable', summary: 'no talos-mac module under updates/ (talos-mac built a whole kernel here)' };
    const { targets, missing, stale, unreadable } = await moduleTargets(ctx, t);
    const problems = [
      ...stale.map((m) => `${moduleInstallDir(m.release)}/kvm-pr.ko is built for ${m.builtFor}, not ${m.release}`),
      ...(missing ? [`${missing} (the next boot) has no kvm-pr: talos-mac's module is installed only for ${t.modules.join(', ')}`] : []),
    ];
    if (problems.length === 0) {
      return { state: unreadable.length ? 'unknown' : 'done', summary: unreadable.length ? unreadable.join('; ') : `talos-mac's kvm-pr matches ${t.modules.join(', ')}` };
    }
    return {
      state: 'todo',
      summary: problems.join('; '),
      fix: { text: `Rebuild kvm-pr for ${targets.join(' and ')} and install it under updates/talos-mac/.`, commands: [...targets.map((r) => shellLine(['talos-mac', 'kernel', 'build-module', '--release', r, '--install'])), 'talos-mac setup'] },
    };
  },
  async apply(ctx, changes) {
    const t = await ours(ctx);
    if (isResult(t) || t.modules.length === 0) return;
    const o = ctx.options.kernel;
    const r = changes.runner;
    const d = await ctx.facts.distro();
    for (const target of (await moduleTargets(ctx, t)).targets) {
      const config = await configFile(ctx, target);
      if (r.dryRun) {
        r.describe(`build kvm.ko + kvm-pr.ko for ${target} from ${config} and install them under ${moduleInstallDir(target)} (depmod)`);
        continue;
      }
      const image = hasFeature(d, 'dpkg') ? await debPackageVersion(ctx.host, `linux-image-${target}`) : undefined;
      const upstream = image ? upstreamOfDebVersion(image.version) : undefined;
      const { buildPrModule, defaultJobs } = await kernelPipeline();
      const built = await buildPrModule({ ...o, host: ctx.host, release: target, config, ...(upstream ? { upstream } : {}), jobs: o.jobs ?? defaultJobs() });
      await installPrModules({ release: target, modules: built.modules, runner: r, step: this });
    }
  },
};

export const kernelHook: Step = {
  id: 'kernel.update-hook',
  category: CATEGORY,
  title: 'Note new distribution kernels as they are installed (optional)',
  severity: 'info',
  undo: removesCreated(HOOK_PATH),
  async verify(ctx) {
    const t = await ours(ctx);
    const asked = ctx.options.kernelHook === true;
    if (isResult(t) && !asked) return t;
    const d = await ctx.facts.distro();
    const info = await ctx.host.pathInfo(HOOK_PATH);
    if (info.exists) return { state: 'done', summary: `installed: ${HOOK_PATH} notes each new kernel in the state directory (it never builds)` };
    if (!hookSupported(d)) return { state: 'not-applicable', summary: `talos-mac installs its kernel hook on Debian-family hosts only (${d.name}: see docs/kernel.md)` };
    if (!asked) return { state: 'not-applicable', summary: `not installed (optional: \`talos-mac setup --kernel-hook\` installs ${HOOK_PATH})` };
    return { state: 'todo', summary: `${HOOK_PATH} is not installed`, fix: { text: 'Install the kernel hook.', commands: ['talos-mac setup --kernel-hook'] } };
  },
  async apply(ctx, changes) {
    if (ctx.options.kernelHook !== true) return;
    if ((await ctx.host.pathInfo(HOOK_PATH)).exists) return;
    await changes.runner.createFile(this, HOOK_PATH, Buffer.from(hookScript({ suffix: suffixOf(ctx) })), 0o755);
  },
};

/** In setup's order: the rebuilds (kernel, module) before the boot entry that must point at what they built. */
export const kernelUpdateSteps: Step[] = [runningTalosKernel, distroKernelNewer, staleModule, defaultBootEntry, kernelHook];
