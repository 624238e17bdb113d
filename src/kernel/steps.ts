import { cpus } from 'node:os';
import { configValue } from '../parse/kconfig.js';
import { kernelVersion } from '../parse/kernel-release.js';
import { assessKvmPr, type PrAssessment } from '../steps/checks/kvm-pr-verdict.js';
import type { Facts } from '../steps/facts.js';
import { distroOf } from '../steps/checks/common.js';
import type { Step, StepContext, StepResult } from '../steps/step.js';
import { kernelCacheDir } from './cache.js';
import { defaultJobs } from './kbuild.js';
import { buildPrModule, symversCandidates, type CommonBuildOptions } from './module-build.js';
import { installDir, installPrModules, loadPrModules } from './module-load.js';
import { buildNewKernel, DEFAULT_LOCALVERSION, newKernelCost } from './new-kernel.js';
import { installCommand, missingRequirements, moduleSigningState, packageManager, packagingRequirements, type DistroFamily } from './preflight.js';
import type { SystemChanges } from '../privileged/runner.js';
import { shellLine } from '../ui/shell-quote.js';
import { hashOnlyReason } from '../steps/checks/mmu.js';
import { distroSourceTarballs, upstreamVersionFromUnameV } from './source.js';
import type { Reduction } from './reduce.js';

export interface KernelStepOptions extends Omit<CommonBuildOptions, 'config'> {
  runner: SystemChanges;
  /** Also install a built module under /lib/modules/<release>/updates/ (default true). */
  installModule?: boolean;
  localVersion?: string;
  /**
   * A whole kernel build may start in this run (setup --build-kernel). Without it, the tools and
   * source that only that build needs are planned (listed, with the command) but not installed.
   */
  buildKernel?: boolean;
  /** Reduce the new kernel's configuration to these loaded modules (make localmodconfig). */
  reduce?: Reduction;
}

const CATEGORY = 'Kernel build';

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
const buildNotStarted = (n: Needs, o: KernelStepOptions): boolean => n.kind === 'kernel' && !o.buildKernel;

/** The result for a preparation that waits for `setup --build-kernel`: setup does not apply it. */
function planned(summary: string, what: string, install: string[]): StepResult {
  return {
    state: 'todo',
    summary: `${summary}; planned for \`talos-mac setup --build-kernel\``,
    fix: {
      text: `Not installed by this run: \`talos-mac setup --build-kernel\` installs ${what}, then builds the kernel.`,
      ...(install.length ? { commands: [shellLine(install)] } : {}),
      bySetup: false,
    },
  };
}

const family = distroOf;

/** Installed (and recorded, so `setup --undo` removes them) with the family's package manager. */
async function installPackages(o: KernelStepOptions, step: string, fam: DistroFamily, names: string[]): Promise<void> {
  const pm = packageManager(fam);
  if (pm && names.length) await o.runner.installPackages(step, pm, names);
}

async function buildInputs(ctx: StepContext) {
  const [rel, cfg, unameV] = await Promise.all([ctx.facts.release(), ctx.facts.kernelConfig(), ctx.facts.command(['uname', '-v'])]);
  if (!rel.ok) throw new Error(`cannot tell the kernel release: ${rel.reason}`);
  if (!cfg.ok) throw new Error(`cannot read the kernel configuration: ${cfg.reason}`);
  const upstream = upstreamVersionFromUnameV(unameV.stdout);
  return { release: rel.value, config: cfg.source, ...(upstream ? { upstream } : {}) };
}

/** What this host still lacks to build what it needs (nothing is probed when nothing is needed). */
async function missingTools(ctx: StepContext, o: KernelStepOptions) {
  const [n, fam] = await Promise.all([needs(ctx.facts), family(ctx.facts)]);
  const missing = n.kind === 'none' ? [] : await missingRequirements(ctx.host, fam, o.crossCompile, n.kind === 'kernel' ? packagingRequirements(fam) : []);
  return { n, fam, missing };
}

function toolsStep(o: KernelStepOptions): Step {
  return {
    id: 'kernel.build-tools',
    category: CATEGORY,
    title: 'Install the kernel build tools',
    severity: 'required',
    async verify(ctx) {
      const { n, fam, missing } = await missingTools(ctx, o);
      if (n.kind === 'none') return notNeeded(n.a);
      const signing = n.kind === 'module' ? await moduleSigningState(ctx.host) : { warnings: [], refusesUnsigned: false };
      const detail = signing.warnings.length ? signing.warnings.join('\n') : undefined;
      if (missing.length === 0) return { state: 'done', summary: 'compiler, make, flex, bison, bc, libelf and OpenSSL headers are present', ...(detail ? { detail, status: 'warn' as const } : {}) };
      const cmd = installCommand(fam, missing.map((m) => m.package));
      const summary = `missing for ${purpose(n)}: ${missing.map((m) => m.what).join(', ')}`;
      if (buildNotStarted(n, o)) return planned(summary, `them (${missing.map((m) => m.package).join(', ')})`, cmd);
      return {
        state: 'todo',
        summary,
        ...(detail ? { detail } : {}),
        fix: { text: 'Install the kernel build tools.', ...(cmd.length ? { commands: [shellLine(cmd)] } : {}), bySetup: cmd.length > 0 },
      };
    },
    async apply(ctx) {
      const { n, fam, missing } = await missingTools(ctx, o);
      if (buildNotStarted(n, o)) return;
      await installPackages(o, 'kernel.build-tools', fam, missing.map((m) => m.package));
    },
  };
}

function sourceStep(o: KernelStepOptions): Step {
  const sourcePackage = (rel: string) => {
    const v = kernelVersion(rel);
    return v ? `linux-source-${v[0]}.${v[1]}` : undefined;
  };
  return {
    id: 'kernel.source',
    category: CATEGORY,
    title: "Get the kernel source",
    severity: 'required',
    async verify(ctx) {
      const n = await needs(ctx.facts);
      if (n.kind === 'none') return notNeeded(n.a);
      if (o.kernelSrc) {
        const p = await ctx.host.pathInfo(o.kernelSrc);
        return p.exists ? { state: 'done', summary: `using ${o.kernelSrc}` } : { state: 'blocked', summary: `--kernel-src ${o.kernelSrc} does not exist` };
      }
      const rel = n.a.release ?? '';
      for (const t of distroSourceTarballs(rel)) if ((await ctx.host.pathInfo(t)).exists) return { state: 'done', summary: `using ${t}` };
      const pkg = sourcePackage(rel);
      const summary = `no source for ${rel} (needed for ${purpose(n)})`;
      if ((await family(ctx.facts)) === 'debian' && pkg) {
        const cmd = installCommand('debian', [pkg]);
        if (buildNotStarted(n, o)) return planned(summary, `${pkg} (or pass --kernel-src DIR|TARBALL)`, cmd);
        return { state: 'todo', summary, fix: { text: `Install ${pkg} (or pass --kernel-src DIR|TARBALL).`, commands: [shellLine(cmd)], bySetup: true } };
      }
      return { state: 'blocked', summary, fix: { text: 'Pass --kernel-src with the source your kernel was built from (the distribution source package, or a kernel.org tarball: talos-mac kernel fetch-source VERSION).' } };
    },
    async apply(ctx) {
      const n = await needs(ctx.facts);
      const pkg = n.a.release ? sourcePackage(n.a.release) : undefined;
      if (pkg && !buildNotStarted(n, o)) await installPackages(o, 'kernel.source', 'debian', [pkg]);
    },
  };
}

/** The package that holds Module.symvers for a distro kernel. */
export function headersPackage(family: DistroFamily, release: string): string | undefined {
  return { debian: `linux-headers-${release}`, fedora: `kernel-devel-${release}`, suse: 'kernel-default-devel', arch: 'linux-headers', other: undefined }[family];
}

function headersStep(o: KernelStepOptions): Step {
  return {
    id: 'kernel.headers',
    category: CATEGORY,
    title: "Install the running kernel's headers (Module.symvers)",
    severity: 'required',
    async verify(ctx) {
      const n = await needs(ctx.facts);
      if (n.kind !== 'module') return notNeeded(n.a);
      const cfg = await ctx.facts.kernelConfig();
      // Without MODVERSIONS no symbol CRCs are checked, so no Module.symvers is needed.
      if (cfg.ok && configValue(cfg.value, 'CONFIG_MODVERSIONS') !== 'y') return { state: 'done', summary: 'not needed: this kernel has no MODVERSIONS' };
      const rel = n.a.release ?? '';
      for (const p of symversCandidates(rel)) if ((await ctx.host.pathInfo(p)).exists) return { state: 'done', summary: `using ${p}` };
      const pkg = headersPackage(await family(ctx.facts), rel);
      return {
        state: 'todo',
        summary: `no Module.symvers for ${rel}: a module built without it is refused ("no symbol version for module_layout")`,
        fix: pkg ? { text: `Install ${pkg}.`, commands: [shellLine(installCommand(await family(ctx.facts), [pkg]))], bySetup: true } : { text: "Install this kernel's development headers (they hold Module.symvers)." },
      };
    },
    async apply(ctx) {
      const rel = await ctx.facts.release();
      const fam = await family(ctx.facts);
      const pkg = rel.ok ? headersPackage(fam, rel.value) : undefined;
      if (pkg) await installPackages(o, 'kernel.headers', fam, [pkg]);
    },
  };
}

function moduleStep(o: KernelStepOptions): Step {
  return {
    id: 'kernel.build-module',
    category: CATEGORY,
    title: 'Build and load kvm-pr for the running kernel',
    severity: 'required',
    async verify(ctx) {
      const a = await assessKvmPr(ctx.facts);
      if (a.verdict === 'ready') return { state: 'done', summary: a.reason };
      if (a.needsPatch) {
        return {
          state: 'blocked',
          summary: 'kernels before 4.18 need a POWER9 enablement patch to kvm-pr, which talos-mac does not ship',
          detail: 'The upstream change could not be verified, so no patch is guessed at. Patch and rebuild kvm-pr by hand, or install a kernel >= 4.18.',
        };
      }
      if (a.verdict !== 'module-must-be-built') return notNeeded(a);
      const signing = await moduleSigningState(ctx.host);
      return {
        state: 'todo',
        summary: `kvm-pr.ko must be built for ${a.release}: only arch/powerpc/kvm is compiled (minutes; about 1.6 GB of disk for the extracted source, 30 MB per build)`,
        ...(signing.warnings.length ? { detail: signing.warnings.join('\n') } : {}),
        fix: { text: 'Build kvm-pr from the matching kernel source and load it.', commands: ['talos-mac setup'], bySetup: true },
      };
    },
    async apply(ctx) {
      const inputs = await buildInputs(ctx);
      if (o.runner.dryRun) {
        o.runner.describe(`build kvm.ko + kvm-pr.ko for ${inputs.release} (make modules_prepare; make M=arch/powerpc/kvm) in ${kernelCacheDir(o.env)}`);
        o.runner.describe(`check their vermagic, unload the old kvm modules, insmod kvm.ko kvm-pr.ko${o.installModule !== false ? `, install under ${installDir(inputs.release)} and depmod` : ''}`);
        return;
      }
      const built = await buildPrModule({ ...o, ...inputs, jobs: o.jobs ?? defaultJobs() });
      await loadPrModules({ release: inputs.release, modules: built.modules, runner: o.runner, step: 'kernel.build-module' });
      if (o.installModule !== false) await installPrModules({ release: inputs.release, modules: built.modules, runner: o.runner, step: 'kernel.build-module' });
    },
  };
}

function persistStep(o: KernelStepOptions): Step {
  return {
    id: 'kernel.module-installed',
    category: CATEGORY,
    title: "Keep talos-mac's kvm-pr across reboots",
    severity: 'advisory',
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
        return { state: 'todo', summary: `talos-mac's kvm-pr was built for ${stale.join(', ')}, not for the running ${rel.value}: rebuild it`, fix: { text: 'Rebuild kvm-pr for this kernel.', commands: ['talos-mac setup'], bySetup: true } };
      }
      return { state: 'not-applicable', summary: 'no talos-mac module in use' };
    },
    async apply(ctx) {
      const inputs = await buildInputs(ctx);
      if (o.runner.dryRun) {
        o.runner.describe(`rebuild kvm-pr.ko for ${inputs.release} and install it under ${installDir(inputs.release)}`);
        return;
      }
      const built = await buildPrModule({ ...o, ...inputs, jobs: o.jobs ?? defaultJobs() });
      await installPrModules({ release: inputs.release, modules: built.modules, runner: o.runner, step: 'kernel.module-installed' });
    },
  };
}

function newKernelStep(o: KernelStepOptions): Step {
  const suffix = o.localVersion ?? DEFAULT_LOCALVERSION;
  return {
    id: 'kernel.build-kernel',
    category: CATEGORY,
    title: 'Build and install a kernel that can do KVM-PR',
    severity: 'required',
    async verify(ctx) {
      const n = await needs(ctx.facts);
      if (n.kind !== 'kernel') {
        const rel = n.a.release ?? '';
        return rel.endsWith(suffix) ? { state: 'done', summary: `running talos-mac's kernel ${rel}` } : notNeeded(n.a);
      }
      const mods = await ctx.host.readDir('/lib/modules');
      const installed = mods.ok ? mods.entries.filter((r) => r.endsWith(suffix)) : [];
      for (const r of installed) {
        const ko = await ctx.host.readDir(`/lib/modules/${r}/kernel/arch/powerpc/kvm`);
        if (ko.ok && ko.entries.some((e) => e.startsWith('kvm-pr.ko'))) {
          const hashOnly = await hashOnlyReason(ctx.facts);
          return { state: 'reboot-required', summary: `${r} is installed: reboot into it${hashOnly ? '' : ' (with disable_radix on the kernel command line)'}` };
        }
      }
      const cfg = await ctx.facts.kernelConfig();
      const cost = cfg.ok ? newKernelCost(cfg.value, cpus().length).text : 'A whole kernel build: many GB of disk and hours of CPU time.';
      return {
        state: 'todo',
        summary: `this kernel ${n.a.reason.replace(/^this kernel /, '')}; a new kernel must be built`,
        detail: `${cost}\nChanges to the running configuration: CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off (and VIRT_CPU_ACCOUNTING_GEN off) so CONTEXT_TRACKING_USER goes, LOCALVERSION=${suffix}${o.reduce ? `; reduced to the ${o.reduce.modules.length} modules loaded per ${o.reduce.from} (make localmodconfig), KVM-PR kept` : ''}. Build cache: ${kernelCacheDir(o.env)}.`,
        fix: { text: 'Build the distribution kernel with KVM-PR enabled, install it, reboot.', commands: ['talos-mac setup'], bySetup: true },
      };
    },
    async apply(ctx) {
      const inputs = await buildInputs(ctx);
      if (o.runner.dryRun) {
        o.runner.describe(`build the kernel from ${inputs.config} with KVM-PR (CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off, LOCALVERSION=${suffix}) in ${kernelCacheDir(o.env)}`);
        o.runner.describe("package it the distribution's way, install it as the default boot entry (the old kernel stays as a fallback), then reboot");
        return;
      }
      await buildNewKernel({ ...o, ...inputs, family: await family(ctx.facts), jobs: o.jobs ?? defaultJobs(), localVersion: suffix });
    },
  };
}

const STEP_MAKERS = [toolsStep, sourceStep, headersStep, moduleStep, persistStep, newKernelStep] as const;

/** The kernel pipeline as setup steps, in the order setup must run them. */
export function kernelPipelineSteps(options: KernelStepOptions): Step[] {
  return STEP_MAKERS.map((make) => make(options));
}

/**
 * The same steps as one-step factories for setup's plan (src/setup/plan.ts: SetupStepFactory),
 * each wired to setup's PrivilegedRunner: `[hashMmuNextBoot, ...kernelSetupFactories(), loadKvmPr, …]`.
 */
export function kernelSetupFactories(options: Omit<KernelStepOptions, 'runner'> = {}): ((deps: KernelSetupDeps) => Step)[] {
  return STEP_MAKERS.map((make) => (deps: KernelSetupDeps) => make({ ...options, buildKernel: deps.buildKernel ?? options.buildKernel ?? false, runner: deps.runner }));
}

/** What the kernel steps take from setup's SetupDeps. */
export interface KernelSetupDeps {
  runner: SystemChanges;
  buildKernel?: boolean;
}
