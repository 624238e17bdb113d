import type { Host } from '../host/host.js';
import { EXIT } from '../exit-codes.js';
import { UserError } from '../errors.js';
import { jsonText } from '../ui/escape.js';

export interface KernelCommonOptions {
  kernelSrc?: string;
  release?: string;
  config?: string;
  cross?: string;
  arch?: string;
  jobs?: string;
  patch?: string[];
  cacheDir?: string;
  dryRun?: boolean;
}

export interface BuildModuleOptions extends KernelCommonOptions {
  json?: boolean;
  /** commander: a path, false for --no-symvers, true (the default) to look it up. */
  symvers?: string | boolean;
  load?: boolean;
  install?: boolean;
}

export interface ConfigureKernelOptions extends KernelCommonOptions {
  localVersion?: string;
  acceptBuildMachineDifferences?: boolean;
  json?: boolean;
  reduceToHost?: boolean;
  reduceModules?: string;
  imageOnly?: boolean;
}

async function reduction(o: ConfigureKernelOptions, host: Host) {
  if (o.reduceToHost && o.reduceModules) throw new UserError('--reduce-to-host and --reduce-modules are alternatives: give one');
  const file = o.reduceModules ?? (o.reduceToHost ? '/proc/modules' : undefined);
  if (!file) return {};
  const { readReduction } = await import('../kernel/reduce.js');
  return { reduce: await readReduction(file, host) };
}

function droppedLines(d: { summary: string; listFile: string } | undefined): string[] {
  return d ? [d.summary, `the options dropped are listed in ${d.listFile} (and the build log)`] : [];
}

/**
 * The running system, asked read-only (uname -r, the kernel's config, /proc/modules, /dev/kvm,
 * os-release). The build itself (tar, make in the cache directory, its free-space check) is build
 * work on the user's own files, not a question about the host: it runs in src/kernel/kbuild.ts.
 */
async function liveHost(): Promise<Host> {
  const { thisMachine } = await import('../host/open.js');
  return thisMachine(process.env);
}

async function unameR(host: Host): Promise<string> {
  const r = await host.run(['uname', '-r']);
  if (r.exitCode !== 0) {
    const { describeCommandFailure } = await import('../host/host.js');
    throw new UserError(`cannot tell the running kernel's release (${describeCommandFailure(r)}): pass --release`);
  }
  return r.stdout.trim();
}

/** Where the distribution put that release's configuration (src/distro/kernel-files.ts), as doctor reads it. */
async function defaultConfig(host: Host, release: string): Promise<string> {
  const { Facts } = await import('../host/facts.js');
  const c = await new Facts(host).kernelConfigOf(release);
  if (c.ok) return c.source;
  throw new UserError(`no configuration found for ${release} (${c.reason}): pass --config FILE`);
}

function jobs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`-j ${raw}: give a whole number of jobs, 1 or more`);
  return n;
}

async function common(o: KernelCommonOptions, host: Host) {
  const release = o.release ?? (await unameR(host));
  const config = o.config ?? (await defaultConfig(host, release));
  const j = jobs(o.jobs);
  return {
    release,
    config,
    host,
    ...(o.kernelSrc ? { kernelSrc: o.kernelSrc } : {}),
    ...(o.cross ? { crossCompile: o.cross } : {}),
    ...(o.arch ? { arch: o.arch } : {}),
    ...(j ? { jobs: j } : {}),
    ...(o.patch?.length ? { patches: o.patch } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ui: (process.stderr.isTTY ? 'listr' : 'plain') as 'listr' | 'plain',
    log: (line: string) => process.stderr.write(`${line}\n`),
  };
}

/**
 * The project's one runner (src/privileged/runner.ts) for the running system: it prints each
 * change, checks sudo before the first, honours --dry-run, and records every change in the same
 * record as setup, so `talos-mac setup --undo` reverts them too.
 */
async function systemRunner(host: Host, dryRun: boolean) {
  const { PrivilegedRunner } = await import('../privileged/runner.js');
  return new PrivilegedRunner({
    dryRun,
    root: '/',
    out: (line) => process.stderr.write(`${line}\n`),
    uid: process.getuid?.() ?? 0,
    interactive: Boolean(process.stdin.isTTY),
    env: process.env,
    host,
  });
}

export async function buildModuleCommand(o: BuildModuleOptions): Promise<number> {
  const [{ buildPrModule }, { loadPrModules, installPrModules }] = await Promise.all([import('../kernel/module-build.js'), import('../kernel/module-load.js')]);
  const host = await liveHost();
  const base = await common(o, host);
  if (o.load || o.install) {
    // Said before the build: an unsigned module is refused by these kernels, however well built.
    const { moduleSigningState } = await import('../kernel/preflight.js');
    for (const w of (await moduleSigningState(host)).warnings) process.stderr.write(`warning: ${w}\n`);
  }
  const r = await buildPrModule({ ...base, ...(typeof o.symvers === 'string' || o.symvers === false ? { symvers: o.symvers } : {}) });
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!o.json) process.stdout.write(`kvm.ko:    ${r.modules.kvm}\nkvm-pr.ko: ${r.modules.kvmPr}\nvermagic:  ${r.vermagic.trim()}\nlog:       ${r.log}\n`);
  const runner = await systemRunner(host, o.dryRun ?? false);
  // The same change as setup's kernel.pr-module: recorded for that step, whose undo reverts it.
  const step = (await import('../steps/checks/kernel.js')).kernelPrModule;
  if (o.load) await loadPrModules({ release: base.release, modules: r.modules, runner, step });
  if (o.install) await installPrModules({ release: base.release, modules: r.modules, runner, step });
  if (o.json) {
    const { KernelModuleReportSchema } = await import('../kernel/report-schema.js');
    const doc = { schema: 'talos-mac/kernel-module@1' as const, release: base.release, modules: r.modules, vermagic: r.vermagic.trim(), log: r.log, loaded: Boolean(o.load), installed: Boolean(o.install), dryRun: Boolean(o.dryRun), warnings: r.warnings };
    process.stdout.write(jsonText(KernelModuleReportSchema.parse(doc)) + '\n');
  }
  return EXIT.OK;
}

export async function configureKernelCommand(o: ConfigureKernelOptions): Promise<number> {
  const [{ configureNewKernel, configuredReport }, { newKernelCost }] = await Promise.all([import('../kernel/new-kernel.js'), import('../kernel/build-cost.js')]);
  const host = await liveHost();
  const base = await common(o, host);
  const r = await configureNewKernel({ ...base, ...(o.localVersion ? { localVersion: o.localVersion } : {}), ...(await reduction(o, host)) });
  const cost = await newKernelCost(r.after, base.jobs ? { jobs: base.jobs } : {});
  if (o.json) {
    const { signing, groups, missingTools, edits, newRelease, tree } = r;
    const { KernelConfigureReportSchema } = await import('../kernel/report-schema.js');
    const doc = {
      tree,
      newRelease,
      edits,
      groups,
      missingTools: missingTools.map((m) => ({ what: m.what, package: m.package ?? null })),
      signing: { sign: signing.sign, key: signing.key ?? null, lines: signing.lines },
      cost,
    };
    KernelConfigureReportSchema.parse(doc);
    process.stdout.write(jsonText(doc) + '\n');
    return EXIT.OK;
  }
  const out = [
    `configured ${r.tree} for Linux ${r.newRelease}`,
    ...droppedLines(r.dropped),
    'changes requested (scripts/config):',
    ...r.edits.map((e) => `  ${e.op} ${e.key}${e.op === 'set-str' ? ` "${e.value}"` : ''}: ${e.why}`),
    `differences from ${base.config} after olddefconfig (${r.diff.length}), by cause:`,
    ...configuredReport(r, o.acceptBuildMachineDifferences),
    '',
    cost.text,
    `Next: talos-mac kernel build-kernel (or talos-mac setup --build-kernel, which also installs what is missing).`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  return EXIT.OK;
}

export async function buildKernelCommand(o: ConfigureKernelOptions): Promise<number> {
  const [{ buildNewKernel, buildKernelImage }, { parseOsRelease }, { distroOf }] = await Promise.all([import('../kernel/new-kernel.js'), import('../parse/os-release.js'), import('../distro/distro.js')]);
  const host = await liveHost();
  const base = {
    ...(await common(o, host)),
    ...(o.localVersion ? { localVersion: o.localVersion } : {}),
    ...(await reduction(o, host)),
    ...(o.acceptBuildMachineDifferences ? { acceptBuildMachineDifferences: true } : {}),
    onCost: (text: string) => process.stderr.write(`${text}\n`),
    onReport: (lines: string[]) => process.stderr.write(`${lines.join('\n')}\n`),
  };
  if (o.imageOnly) {
    const t0 = Date.now();
    const img = await buildKernelImage(base);
    const cached = img.resumed.includes('build-image');
    if (o.json) return buildReport({ release: img.release, log: img.log, imageOnly: true, installed: false, dryRun: false, vmlinux: img.vmlinux, modules: `${img.modulesRoot}/lib/modules/${img.release}`, cached });
    process.stdout.write([...droppedLines(img.configured.dropped), `vmlinux: ${img.vmlinux}`, `modules: ${img.modulesRoot}/lib/modules/${img.release}`, `release: ${img.release}`,
      `${cached ? 'cached: nothing was built' : 'built'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`, `log:     ${img.log}`].join('\n') + '\n');
    return EXIT.OK;
  }
  const os = await host.readFile('/etc/os-release');
  const osRelease = parseOsRelease(os.ok ? os.data.toString('utf8') : '');
  const r = await buildNewKernel({
    ...base,
    distro: distroOf(osRelease),
    runner: await systemRunner(host, o.dryRun ?? false),
    // The same change as setup's kernel.pr-support: recorded for that step, whose undo reverts it.
    step: (await import('../steps/checks/kernel.js')).kernelPrSupport,
  });
  if (o.json) return buildReport({ release: r.release, log: r.log, imageOnly: false, installed: !o.dryRun, dryRun: Boolean(o.dryRun), vmlinux: null, modules: null, cached: false });
  process.stdout.write(`Linux ${r.release} is installed. Reboot into it (with disable_radix on the kernel command line) to use KVM-PR.\nlog: ${r.log}\n`);
  return EXIT.OK;
}

async function buildReport(fields: Omit<import('../kernel/report-schema.js').KernelBuildReport, 'schema'>): Promise<number> {
  const { KernelBuildReportSchema } = await import('../kernel/report-schema.js');
  process.stdout.write(jsonText(KernelBuildReportSchema.parse({ schema: 'talos-mac/kernel-build@1', ...fields })) + '\n');
  return EXIT.OK;
}

export async function fetchSourceCommand(version: string, o: { cacheDir?: string; json?: boolean }): Promise<number> {
  const [{ fetchKernelOrg }, { kernelCacheDir }, { KernelSourceReportSchema }] = await Promise.all([import('../kernel/source.js'), import('../kernel/cache.js'), import('../kernel/report-schema.js')]);
  const file = await fetchKernelOrg(version, o.cacheDir ?? kernelCacheDir(), (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(o.json ? jsonText(KernelSourceReportSchema.parse({ schema: 'talos-mac/kernel-source@1', version, file })) + '\n' : `${file}\n`);
  return EXIT.OK;
}
