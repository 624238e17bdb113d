import { removesPackages, removesModules } from '../../privileged/revert.js';
import { cpus } from 'node:os';
import { configValue } from '../../parse/kconfig.js';
import { assessKvmPr, type PrAssessment } from './kvm-pr-verdict.js';
import type { Facts } from '../../host/facts.js';
import { hasFeature, headersPackage, installArgv, sourcePackage, sourceTarballs, type Distro } from '../../distro/distro.js';
import type { Changes, Step, StepContext, StepResult } from '../step.js';
import { kernelCacheDir } from '../../kernel/cache.js';
import { installDir, installPrModules, loadPrModules } from '../../kernel/module-load.js';
import { configRequirements, missingPackages, missingRequirements, moduleSigningState, packagingRequirements } from '../../kernel/preflight.js';
import { shellLine } from '../../ui/shell-quote.js';
import { hashOnlyReason } from './mmu-state.js';
import { DEFAULT_LOCALVERSION } from '../../kernel/options.js';

/** The kernel pipeline, loaded only where a build or its cost is asked for: doctor's verifies do not need it. */
export async function kernelPipeline() {
  const [build, kernel, kbuild, source, cost] = await Promise.all([
    import('../../kernel/module-build.js'),
    import('../../kernel/new-kernel.js'),
    import('../../kernel/kbuild.js'),
    import('../../kernel/source.js'),
    import('../../kernel/build-cost.js'),
  ]);
  return { ...build, ...kernel, ...kbuild, ...source, ...cost };
}

const CATEGORY = 'Kernel';

type Needs = { kind: 'module' | 'kernel' | 'none'; a: PrAssessment };

async function needs(facts: Facts): Promise<Needs> {
  const a = await assessKvmPr(facts);
  if (a.verdict === 'module-must-be-built' && !a.needsPatch) return { kind: 'module', a };
  if (a.verdict === 'new-kernel-needed') return { kind: 'kernel', a };
  return { kind: 'none', a };
}

const notNeeded = (a: PrAssessment): StepResult => ({ state: 'not-applicable', summary: `nothing to build (${a.reason})` });

const purpose = (n: Needs): string => (n.kind === 'kernel' ? 'building a new kernel' : 'building kvm-pr.ko');

/** A new kernel is needed but its build was not asked for: what it needs is only planned. */
const buildNotStarted = (n: Needs, ctx: StepContext): boolean => n.kind === 'kernel' && !ctx.options.buildKernel;

/** The result for a preparation that waits for `setup --build-kernel`: setup does not apply it. */
function planned(summary: string, what: string, install: string[]): StepResult {
  return {
    state: 'todo',
    summary: `${summary}; planned for \`talos-mac setup --build-kernel\``,
    onlyWith: '--build-kernel',
    fix: {
      text: `Not installed by this run: \`talos-mac setup --build-kernel\` installs ${what}, then builds the kernel.`,
      ...(install.length ? { commands: [shellLine(install)] } : {}),
    },
  };
}

const family = (facts: Facts): Promise<Distro> => facts.distro();

async function buildInputs(ctx: StepContext) {
  const [rel, cfg, unameV] = await Promise.all([ctx.facts.release(), ctx.facts.kernelConfig(), ctx.facts.command(['uname', '-v'])]);
  if (!rel.ok) throw new Error(`cannot tell the kernel release: ${rel.reason}`);
  if (!cfg.ok) throw new Error(`cannot read the kernel configuration: ${cfg.reason}`);
  const upstream = (await import('../../kernel/source.js')).upstreamVersionFromUnameV(unameV.stdout);
  return { release: rel.value, config: cfg.source, host: ctx.host, ...(upstream ? { upstream } : {}) };
}

/** What this host still lacks to build what it needs (nothing is probed when nothing is needed). */
async function missingTools(ctx: StepContext) {
  const o = ctx.options.kernel;
  const [n, fam] = await Promise.all([needs(ctx.facts), family(ctx.facts)]);
  // A new kernel also needs the tools the distribution built its kernel with (pahole), as its config records them.
  const cfg = n.kind === 'kernel' ? await ctx.facts.kernelConfig() : undefined;
  const fromConfig = cfg?.ok ? configRequirements(fam, cfg.value) : [];
  const missing = n.kind === 'none' ? [] : await missingRequirements(ctx.host, fam, o.crossCompile, n.kind === 'kernel' ? [...packagingRequirements(fam), ...fromConfig] : []);
  return { n, fam, missing };
}

/** Installed, and recorded so that `setup --undo` removes them, with the distribution's package manager. */
async function install(changes: Changes, step: Step, d: Distro, names: readonly string[]): Promise<void> {
  if (names.length && d.packages) await changes.runner.installPackages(step, d.packages, names);
}

export const buildTools: Step = {
  id: 'kernel.build-tools',
  category: CATEGORY,
  title: 'Install the kernel build tools',
  severity: 'info',
  undo: removesPackages,
  runningSystemOnly: true,
  async verify(ctx) {
    const probed = await missingTools(ctx).catch((err: Error) => err);
    if (probed instanceof Error) return { state: 'unknown', summary: `cannot tell: ${probed.message}` };
    const { n, fam, missing } = probed;
    if (n.kind === 'none') return notNeeded(n.a);
    const signing = n.kind === 'module' ? await moduleSigningState(ctx.host) : { warnings: [], refusesUnsigned: false };
    const detail = signing.warnings.length ? signing.warnings.join('\n') : undefined;
    if (missing.length === 0) return { state: 'done', summary: 'compiler, make, flex, bison, bc, libelf and OpenSSL headers are present', ...(detail ? { detail, status: 'warn' as const } : {}) };
    const pkgs = missingPackages(missing);
    const cmd = installArgv(fam, pkgs ?? []);
    const summary = `missing for ${purpose(n)}: ${missing.map((m) => m.what).join(', ')}`;
    if (buildNotStarted(n, ctx)) return planned(summary, pkgs ? `them (${pkgs.join(', ')})` : 'them', cmd);
    return {
      state: 'todo',
      summary,
      ...(detail ? { detail } : {}),
      ...(cmd.length ? {} : { manual: `talos-mac does not know their package names on ${fam.name}` }),
      fix: { text: 'Install the kernel build tools.', ...(cmd.length ? { commands: [shellLine(cmd)] } : {}) },
    };
  },
  async apply(ctx, changes) {
    const { n, fam, missing } = await missingTools(ctx);
    if (buildNotStarted(n, ctx)) return;
    await install(changes, this, fam, missingPackages(missing) ?? []);
  },
};

/** What the package manager would download for a package (apt-cache's Size field), e.g. "139 MB". */
async function downloadSize(ctx: StepContext, d: Distro, pkg: string): Promise<string | undefined> {
  if (!hasFeature(d, 'apt-cache')) return undefined;
  const r = await ctx.facts.command(['apt-cache', 'show', '--no-all-versions', pkg]);
  const bytes = r.exitCode === 0 ? Number(/^Size: (\d+)$/m.exec(r.stdout)?.[1]) : NaN;
  return Number.isFinite(bytes) && bytes > 0 ? `${Math.round(bytes / 1e6)} MB` : undefined;
}

export const kernelSource: Step = {
  id: 'kernel.source',
  category: CATEGORY,
  title: 'Get the kernel source',
  severity: 'info',
  undo: removesPackages,
  runningSystemOnly: true,
  async verify(ctx) {
    const o = ctx.options.kernel;
    const n = await needs(ctx.facts);
    if (n.kind === 'none') return notNeeded(n.a);
    if (o.kernelSrc) {
      const p = await ctx.host.pathInfo(o.kernelSrc);
      return p.exists ? { state: 'done', summary: `using ${o.kernelSrc}` } : { state: 'blocked', summary: `--kernel-src ${o.kernelSrc} does not exist` };
    }
    const rel = n.a.release ?? '';
    const d = await family(ctx.facts);
    for (const t of sourceTarballs(d, rel)) if ((await ctx.host.pathInfo(t)).exists) return { state: 'done', summary: `using ${t}` };
    const pkg = sourcePackage(d, rel);
    const download = pkg ? await downloadSize(ctx, d, pkg) : undefined;
    const summary = `no source for ${rel} (needed for ${purpose(n)}${download ? `; ${pkg} is a ${download} download` : ''})`;
    const cmd = pkg ? installArgv(d, [pkg]) : [];
    if (pkg && cmd.length) {
      if (buildNotStarted(n, ctx)) return planned(summary, `${pkg} (or pass --kernel-src DIR|TARBALL)`, cmd);
      return { state: 'todo', summary, fix: { text: `Install ${pkg} (or pass --kernel-src DIR|TARBALL).`, commands: [shellLine(cmd)] } };
    }
    return { state: 'blocked', summary, fix: { text: 'Pass --kernel-src with the source your kernel was built from (the distribution source package, or a kernel.org tarball: talos-mac kernel fetch-source VERSION).' } };
  },
  async apply(ctx, changes) {
    const n = await needs(ctx.facts);
    const d = await family(ctx.facts);
    const pkg = n.a.release ? sourcePackage(d, n.a.release) : undefined;
    if (pkg && !buildNotStarted(n, ctx)) await install(changes, this, d, [pkg]);
  },
};

export const kernelHeaders: Step = {
  id: 'kernel.headers',
  category: CATEGORY,
  title: "Install the running kernel's headers (Module.symvers)",
  severity: 'info',
  undo: removesPackages,
  runningSystemOnly: true,
  async verify(ctx) {
    const n = await needs(ctx.facts);
    if (n.kind !== 'module') return notNeeded(n.a);
    const cfg = await ctx.facts.kernelConfig();
    // Without MODVERSIONS no symbol CRCs are checked, so no Module.symvers is needed.
    if (cfg.ok && configValue(cfg.value, 'CONFIG_MODVERSIONS') !== 'y') return { state: 'done', summary: 'not needed: this kernel has no MODVERSIONS' };
    const rel = n.a.release ?? '';
    for (const p of (await import('../../kernel/module-build.js')).symversCandidates(rel)) if ((await ctx.host.pathInfo(p)).exists) return { state: 'done', summary: `using ${p}` };
    const d = await family(ctx.facts);
    const pkg = headersPackage(d, rel);
    const cmd = pkg ? installArgv(d, [pkg]) : [];
    return {
      state: 'todo',
      summary: `no Module.symvers for ${rel}: a module built without it is refused ("no symbol version for module_layout")`,
      ...(cmd.length ? {} : { manual: `talos-mac does not know which package holds them on ${d.name}` }),
      fix: cmd.length ? { text: `Install ${pkg}.`, commands: [shellLine(cmd)] } : { text: "Install this kernel's development headers (they hold Module.symvers)." },
    };
  },
  async apply(ctx, changes) {
    const rel = await ctx.facts.release();
    const fam = await family(ctx.facts);
    const pkg = rel.ok ? headersPackage(fam, rel.value) : undefined;
    if (pkg) await install(changes, this, fam, [pkg]);
  },
};

/** A new kernel's cost on this machine, from the running configuration (build-cost.ts newKernelCost). */
export async function kernelBuildCost(ctx: StepContext): Promise<string> {
  const o = ctx.options.kernel;
  const cfg = await ctx.facts.kernelConfig();
  if (!cfg.ok) return 'A whole kernel build: many GB of disk and hours of CPU time.';
  const other = await otherHostCpus(ctx);
  return (await (await import('../../kernel/build-cost.js')).newKernelCost(cfg.value, { ...(o.jobs ? { jobs: o.jobs } : {}), ...(o.env ? { env: o.env } : {}), ...(other ? { cpus: other, records: false } : {}) })).text;
}

/**
 * The CPUs of the host a plan is for when that is not this machine (a snapshot: counted in its
 * /proc/cpuinfo); undefined for this machine, whose builds use os.cpus().
 */
export async function otherHostCpus(ctx: StepContext): Promise<number | undefined> {
  if (!ctx.host.description.startsWith('snapshot ')) return undefined;
  const info = await ctx.facts.cpuinfo();
  return info.ok && info.value.processors > 0 ? info.value.processors : undefined;
}

/** The CPUs a build on the host being planned for would use. */
export async function buildCpus(ctx: StepContext): Promise<number> {
  return (await otherHostCpus(ctx)) ?? cpus().length;
}

/** What kernel.pr-module says when kvm-pr.ko must be built: the cost and signing first. */
export async function moduleBuildResult(ctx: StepContext, a: PrAssessment): Promise<StepResult> {
  const signing = await moduleSigningState(ctx.host);
  return {
    state: 'todo',
    summary: `kvm-pr.ko must be built for ${a.release}: only arch/powerpc/kvm is compiled (minutes; about 1.6 GB of disk for the extracted source, 30 MB per build)`,
    ...(signing.warnings.length ? { detail: signing.warnings.join('\n') } : {}),
    fix: { text: 'Build kvm-pr from the matching kernel source and load it.', commands: ['talos-mac setup'] },
  };
}

/** kernel.pr-module's apply: build kvm.ko + kvm-pr.ko for the running kernel, load and install them. */
export async function buildAndLoadModule(this: Step, ctx: StepContext, changes: Changes): Promise<void> {
  const o = ctx.options.kernel;
  const r = changes.runner;
  const inputs = await buildInputs(ctx);
  if (r.dryRun) {
    r.describe(`build kvm.ko + kvm-pr.ko for ${inputs.release} (make modules_prepare; make M=arch/powerpc/kvm) in ${kernelCacheDir(o.env)}`);
    r.describe(`check their vermagic, unload the old kvm modules, insmod kvm.ko kvm-pr.ko${o.installModule !== false ? `, install under ${installDir(inputs.release)} and depmod` : ''}`);
    return;
  }
  const { buildPrModule, defaultJobs } = await kernelPipeline();
  const built = await buildPrModule({ ...o, ...inputs, jobs: o.jobs ?? defaultJobs() });
  await loadPrModules({ release: inputs.release, modules: built.modules, runner: r, step: this });
  if (o.installModule !== false) await installPrModules({ release: inputs.release, modules: built.modules, runner: r, step: this });
}

export const moduleInstalled: Step = {
  id: 'kernel.module-installed',
  category: CATEGORY,
  title: "Keep talos-mac's kvm-pr across reboots",
  severity: 'advisory',
  undo: removesModules,
  runningSystemOnly: true,
  async verify(ctx) {
    const rel = await ctx.facts.release();
    if (!rel.ok) return { state: 'unknown', summary: rel.reason };
    const ours = `${installDir(rel.value)}/kvm-pr.ko`;
    if ((await ctx.host.pathInfo(ours)).exists) return { state: 'done', summary: `installed: ${ours}` };
    // A kernel update leaves a module built for the old release behind: say so.
    const all = await ctx.host.readDir('/lib/modules');
    const stale: string[] = [];
    if (all.ok) for (const r of all.entries) if (r !== rel.value && (await ctx.host.pathInfo(`${installDir(r)}/kvm-pr.ko`)).exists) stale.push(r);
    const a = await assessKvmPr(ctx.facts);
    if (stale.length > 0 && a.verdict !== 'ready') {
      return { state: 'todo', summary: `talos-mac's kvm-pr was built for ${stale.join(', ')}, not for the running ${rel.value}: rebuild it`, fix: { text: 'Rebuild kvm-pr for this kernel.', commands: ['talos-mac setup'] } };
    }
    return { state: 'not-applicable', summary: 'no talos-mac module in use' };
  },
  async apply(ctx, changes) {
    const o = ctx.options.kernel;
    const r = changes.runner;
    const inputs = await buildInputs(ctx);
    if (r.dryRun) {
      r.describe(`rebuild kvm-pr.ko for ${inputs.release} and install it under ${installDir(inputs.release)}`);
      return;
    }
    const { buildPrModule, defaultJobs } = await kernelPipeline();
    const built = await buildPrModule({ ...o, ...inputs, jobs: o.jobs ?? defaultJobs() });
    await installPrModules({ release: inputs.release, modules: built.modules, runner: r, step: this });
  },
};

/**
 * kernel.pr-support when the running kernel cannot do KVM-PR: a talos-mac kernel already installed
 * waits for a reboot; otherwise the build, with its cost, waits for --build-kernel.
 */
export async function newKernelResult(ctx: StepContext, a: PrAssessment): Promise<StepResult> {
  const o = ctx.options.kernel;
  const suffix = o.localVersion ?? DEFAULT_LOCALVERSION;
  const mods = await ctx.host.readDir('/lib/modules');
  const installed = mods.ok ? mods.entries.filter((r) => r.endsWith(suffix)) : [];
  for (const r of installed) {
    const ko = await ctx.host.readDir(`/lib/modules/${r}/kernel/arch/powerpc/kvm`);
    if (ko.ok && ko.entries.some((e) => e.startsWith('kvm-pr.ko'))) {
      const hashOnly = await hashOnlyReason(ctx.facts);
      return { state: 'reboot-required', summary: `${r} is installed: reboot into it${hashOnly ? '' : ' (with disable_radix on the kernel command line)'}` };
    }
  }
  const cost = await kernelBuildCost(ctx);
  return {
    state: 'todo',
    cost,
    summary: `this kernel ${a.reason.replace(/^this kernel /, '')}; a new kernel must be built`,
    detail: `${cost}\nChanges to the running configuration: CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off (and VIRT_CPU_ACCOUNTING_GEN off) so CONTEXT_TRACKING_USER goes, LOCALVERSION=${suffix}${o.reduce ? `; reduced to the ${o.reduce.modules.length} modules loaded per ${o.reduce.from} (make localmodconfig), KVM-PR kept` : ''}. Build cache: ${kernelCacheDir(o.env)}.`,
    ...(ctx.options.buildKernel ? {} : { onlyWith: '--build-kernel' }),
    fix: {
      text: "Build your distribution's kernel with KVM-PR enabled, install it (the old kernel stays as a fallback), reboot. It takes hours: talos-mac starts it only when asked.",
      commands: ['talos-mac setup --build-kernel'],
    },
  };
}

/** kernel.pr-support's apply: build, package and install the new kernel. */
export async function buildAndInstallKernel(this: Step, ctx: StepContext, changes: Changes): Promise<void> {
  const o = ctx.options.kernel;
  const r = changes.runner;
  const suffix = o.localVersion ?? DEFAULT_LOCALVERSION;
  const inputs = await buildInputs(ctx);
  if (r.dryRun) {
    r.describe(`build the kernel from ${inputs.config} with KVM-PR (CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off, LOCALVERSION=${suffix}) in ${kernelCacheDir(o.env)}`);
    r.describe("package it the distribution's way, install it as the default boot entry (the old kernel stays as a fallback), then reboot");
    return;
  }
  const { buildNewKernel, defaultJobs } = await kernelPipeline();
  await buildNewKernel({ ...o, ...inputs, runner: r, distro: await family(ctx.facts), jobs: o.jobs ?? defaultJobs(), localVersion: suffix, step: this });
}
