import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { configValue, isEnabled, parseKernelConfig, type KernelConfig } from '../parse/kconfig.js';
import { kernelCacheDir } from './cache.js';
import { configDiff, localVersionEdit, missingKeyFileEdits, prConfigured, prEdits, type ConfigChange, type ConfigEdit } from './config.js';
import { makeArgv, runLogged, StageMarkers } from './kbuild.js';
import { assertBuildTools, assertFreeDisk, buildKey, writeConfig, readConfigFile, locateSource, treeStages, type CommonBuildOptions } from './module-build.js';
import { droppedList, droppedOptions, droppedSummary, dropListFile, reductionEdits, writeLsmod, type Dropped, type Reduction } from './reduce.js';
import type { Distro } from '../distro/distro.js';
import type { SystemChanges } from '../privileged/runner.js';
import type { PreparedSource } from './source.js';
import { runStages, type Stage } from './stages.js';
import { debPackageOwning, recordProvenance, type Provenance } from './provenance.js';

export const DEFAULT_LOCALVERSION = '-talosmac';

export interface NewKernelOptions extends CommonBuildOptions {
  /** The running kernel's release: picks the distro source (linux-source-X.Y) to build from. */
  release: string;
  /** Appended to the release so the kernel is recognisably ours (default "-talosmac"). */
  localVersion?: string;
  /** Reduce the configuration to these loaded modules (make localmodconfig) before the KVM-PR edits. */
  reduce?: Reduction;
}

export interface ConfiguredKernel {
  buildDir: string;
  tree: string;
  log: string;
  edits: ConfigEdit[];
  before: KernelConfig;
  after: KernelConfig;
  /** Every option that differs from the running kernel's configuration. */
  diff: ConfigChange[];
  /** The release the new kernel will have, from include/config/kernel.release. */
  newRelease: string;
  source: PreparedSource;
  markers: StageMarkers;
  resumed: string[];
  /** With `reduce`: what localmodconfig (and the reduction's own edits) turned off, and the one-line summary. */
  dropped?: Dropped & { summary: string; listFile: string };
}

/** What a full distro-config build costs, said before it starts. Figures are estimates. */
export function newKernelCost(config: KernelConfig, cpuCount: number): { diskGiB: number; text: string } {
  const debug = isEnabled(config, 'CONFIG_DEBUG_INFO') && configValue(config, 'CONFIG_DEBUG_INFO_NONE') !== 'y';
  const diskGiB = debug ? 25 : 8;
  const modules = [...config.values()].filter((v) => v === 'm').length;
  // A localmodconfig-reduced config builds vmlinux and a handful of modules: measured 7–25 min on 2 cores (docs/kernel.md).
  if (modules < 300) {
    return { diskGiB: debug ? 8 : 3, text: `A reduced configuration (${modules} modules): about ${debug ? 8 : 3} GB of free disk and roughly 10–40 minutes with ${cpuCount} CPU${cpuCount === 1 ? '' : 's'} (an estimate). It is resumable if interrupted.` };
  }
  return {
    diskGiB,
    text:
      `Building a whole distribution kernel needs about ${diskGiB} GB of free disk${debug ? ' (the configuration keeps debug info)' : ''} ` +
      `and takes a long time: roughly 1–3 hours with ${cpuCount} CPU${cpuCount === 1 ? '' : 's'} (an estimate: thousands of modules). ` +
      `It is resumable if interrupted. The new kernel is used after a reboot; the current one stays installed as a fallback.`,
  };
}

/**
 * Case 2 of issue 5, first half: the distro's kernel source with the running kernel's config and
 * the fewest changes that make KVM-PR buildable, checked after olddefconfig.
 */
export async function configureNewKernel(o: NewKernelOptions): Promise<ConfiguredKernel> {
  const { text, config: before } = await readConfigFile(o.config);
  const cacheDir = o.cacheDir ?? kernelCacheDir(o.env);
  const { source, patches } = await locateSource(o, o.release, 'series');
  const localVersion = o.localVersion ?? DEFAULT_LOCALVERSION;
  if (!/^-[\w.+-]*$/.test(localVersion)) throw new UserError(`--local-version must start with "-" and hold only letters, digits, ".", "+", "-", "_" (got "${localVersion}")`);
  const reduceKey = o.reduce ? { reduce: o.reduce.modules } : {};
  const buildDir = join(cacheDir, 'builds', await buildKey('kernel', o, { localVersion, ...reduceKey }, source, patches));
  const tree = join(buildDir, 'linux');
  const log = join(buildDir, 'build.log');
  const markers = new StageMarkers(join(buildDir, 'stages'));
  const env = o.env ?? process.env;
  const edits = [...prEdits(before), ...(await missingKeyFileEdits(before, source.dir)), localVersionEdit(localVersion)];
  const make = (targets: string[]) => makeArgv(targets, { tree, ...o });

  const stages: Stage[] = [
    ...treeStages(source, tree, patches, o.log),
    {
      id: 'configure',
      title: 'Configure: running config + KVM-PR',
      resumable: true,
      run: async () => {
        const start = o.reduce ? await reducedConfig(o.reduce, { tree, text, buildDir, log, env, make }) : text;
        const after = await writeConfig({ tree, text: start, edits, make: make(['olddefconfig']), log, env });
        if (!prConfigured(after)) {
          const why = configValue(after, 'CONFIG_CONTEXT_TRACKING_USER') === 'y' ? ': CONTEXT_TRACKING_USER is still selected by another option' : '';
          throw new UserError(`after olddefconfig the configuration still has no KVM-PR module${why}; see ${join(tree, '.config')}`);
        }
        // Writes include/config/kernel.release, the name the kernel will have.
        await runLogged({ argv: make(['include/config/kernel.release']), log, env });
      },
    },
  ];
  const resumed = await runStages(stages, markers, o.ui);
  const after = parseKernelConfig(await readFile(join(tree, '.config'), 'utf8'))!;
  const newRelease = (await readFile(join(tree, 'include', 'config', 'kernel.release'), 'utf8')).trim();
  const dropped = o.reduce ? { ...(JSON.parse(await readFile(join(buildDir, 'reduction.json'), 'utf8')) as Dropped & { summary: string }), listFile: dropListFile(buildDir) } : undefined;
  return { buildDir, tree, log, edits, before, after, diff: configDiff(before, after), newRelease, source, markers, resumed, ...(dropped ? { dropped } : {}) };
}

/**
 * The distro config brought to this source (olddefconfig), then `make localmodconfig` with the
 * host's module list as LSMOD, then the reduction's edits. Returns the reduced .config text; what
 * was dropped is kept beside the build (reduction.json, dropped-options.txt) and in the log.
 */
async function reducedConfig(
  r: Reduction,
  a: { tree: string; text: string; buildDir: string; log: string; env: NodeJS.ProcessEnv; make: (targets: string[]) => string[] },
): Promise<string> {
  const base = await writeConfig({ tree: a.tree, text: a.text, edits: [], make: a.make(['olddefconfig']), log: a.log, env: a.env });
  const lsmod = join(a.buildDir, 'lsmod.txt');
  await writeLsmod(lsmod, r);
  await runLogged({ argv: [...a.make(['localmodconfig']).slice(0, -1), `LSMOD=${lsmod}`, 'localmodconfig'], log: a.log, env: a.env });
  const localmod = await readFile(join(a.tree, '.config'), 'utf8');
  const reduced = await writeConfig({ tree: a.tree, text: localmod, edits: reductionEdits(), make: a.make(['olddefconfig']), log: a.log, env: a.env });
  const d = droppedOptions(base, reduced);
  const summary = droppedSummary(d, r);
  const list = droppedList(d);
  await writeFile(dropListFile(a.buildDir), `${summary}
${list}
`);
  await writeFile(join(a.buildDir, 'reduction.json'), JSON.stringify({ ...d, summary }));
  await appendFile(a.log, `
${summary}
${list}
`);
  return readFile(join(a.tree, '.config'), 'utf8');
}

export interface PackagePlan {
  target: string[];
  describe: string;
}

/** Packaged the distribution's way where Kbuild knows it, so the package manager can remove it again. */
export function packagePlan(distro: Distro): PackagePlan {
  const { target } = distro.kernelPackaging;
  if (target === 'bindeb-pkg') return { target: [target], describe: `Debian packages (make bindeb-pkg), installed with ${distro.packages?.program ?? 'its package manager'}` };
  if (target === 'binrpm-pkg') return { target: [target], describe: `RPM packages (make binrpm-pkg), installed with ${distro.packages?.program ?? 'its package manager'}` };
  return { target: ['all'], describe: 'a plain build, installed with make modules_install install' };
}

export interface BuildKernelOptions extends NewKernelOptions {
  distro: Distro;
  runner: SystemChanges;
  /** The step (or command) named in the record (default kernel.pr-support). */
  step?: string;
  /** Told what the build will cost before it starts. */
  onCost?: (text: string) => void;
}

/** Case 2, the rest: build, package, install. The caller reports that a reboot is needed. */
export async function buildNewKernel(o: BuildKernelOptions): Promise<{ release: string; installed: string[][]; log: string; provenance: Provenance }> {
  await assertBuildTools(o.env, o.crossCompile, true);
  const configured = await configureNewKernel(o);
  const cost = newKernelCost(configured.after, cpus().length);
  o.onCost?.(cost.text);
  await assertFreeDisk(configured.buildDir, cost.diskGiB);
  const plan = packagePlan(o.distro);
  const env = o.env ?? process.env;
  const { tree, log } = configured;
  await runStages(
    [
      {
        id: 'build',
        title: `Build Linux ${configured.newRelease} as ${plan.describe}`,
        resumable: true,
        run: (progress) => runLogged({ argv: makeArgv(plan.target, { tree, ...o }), log, env, onProgress: progress }),
      },
    ],
    configured.markers,
    o.ui,
  );
  const step = o.step ?? 'kernel.pr-support';
  const installed: string[][] = [];
  const installedNames: string[] = [];
  const pm = o.distro.packages;
  if (!pm && plan.target[0] !== 'all') throw new UserError(`talos-mac does not know the package manager of ${o.distro.name}: cannot install the kernel it packaged`, 1);
  const install = async (files: string[], names: string[]) => {
    installed.push(pm!.install(files));
    installedNames.push(...names);
    await o.runner.installKernel(step, pm!, files, names, configured.newRelease);
  };
  if (plan.target[0] === 'bindeb-pkg') {
    const debs = (await readdir(configured.buildDir)).filter((f) => /^linux-(image|headers)-.*\.deb$/.test(f) && f.includes(configured.newRelease) && !f.includes('-dbg'));
    if (debs.length === 0) throw new UserError(`make bindeb-pkg left no linux-image package in ${configured.buildDir}; see ${log}`, 1);
    // A .deb file is named PACKAGE_VERSION_ARCH.deb, and package names hold no "_" (deb-version(7), Debian Policy 5.6.1).
    await install(debs.map((d) => join(configured.buildDir, d)), debs.map((d) => d.split('_')[0]!));
  } else if (plan.target[0] === 'binrpm-pkg') {
    const rpms = await findRpms([join(homedir(), 'rpmbuild', 'RPMS'), dirname(tree)], configured.newRelease.replace(/-/g, '_'));
    if (rpms.length === 0) throw new UserError(`make binrpm-pkg left no kernel RPM for ${configured.newRelease}; see ${log}`, 1);
    // NAME-VERSION-RELEASE.ARCH.rpm: removed by NAME-VERSION-RELEASE, never by the bare name "kernel" (the distribution's too).
    await install(rpms, rpms.map((f) => basename(f).replace(/\.[^.]+\.rpm$/, '')));
  } else {
    const argv = makeArgv(['modules_install', 'install'], { tree, ...o, jobs: 1 });
    installed.push(argv);
    await o.runner.command(step, argv);
  }
  const provenance = await provenanceOf(o, configured, installedNames);
  await recordProvenance(o.runner, step, provenance);
  return { release: configured.newRelease, installed, log, provenance };
}

/** What this kernel was built from, for the update checks (src/steps/checks/kernel-updates.ts). */
async function provenanceOf(o: BuildKernelOptions, c: ConfiguredKernel, packages: string[]): Promise<Provenance> {
  const deb = o.distro.packages?.program === 'apt-get';
  const configPackage = deb ? await debPackageOwning(o.runner.host, o.config) : undefined;
  const sourcePackage = deb ? await debPackageOwning(o.runner.host, c.source.origin) : undefined;
  return {
    format: 'talos-mac-kernel',
    version: 1,
    release: c.newRelease,
    builtAt: new Date().toISOString(),
    configFrom: { release: o.release, path: o.config, ...(configPackage ? { package: configPackage } : {}) },
    source: { origin: c.source.origin, upstream: c.source.version.text, ...(sourcePackage ? { package: sourcePackage } : {}) },
    localVersion: o.localVersion ?? DEFAULT_LOCALVERSION,
    edits: c.edits.map((e) => ({ ...e })),
    ...(o.reduce ? { reduce: { from: o.reduce.from, modules: [...o.reduce.modules] } } : {}),
    packages,
  };
}

async function findRpms(dirs: string[], releaseFragment: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    let entries: string[] = [];
    try {
      entries = await readdir(dir, { recursive: true } as { recursive: true }) as unknown as string[];
    } catch {
      continue;
    }
    for (const e of entries) if (/kernel-.*\.rpm$/.test(e) && !/devel|headers|debug/.test(e) && e.replace(/-/g, '_').includes(releaseFragment)) out.push(join(dir, e));
  }
  return out;
}

export interface KernelImage {
  release: string;
  vmlinux: string;
  /** Holds lib/modules/RELEASE/ (make modules_install INSTALL_MOD_PATH=…). */
  modulesRoot: string;
  config: string;
  log: string;
  configured: ConfiguredKernel;
  /** Stages skipped because an earlier run finished them. */
  resumed: string[];
}

/**
 * vmlinux and the modules only, installed under the build directory, not packaged or installed
 * on this host: for booting the kernel elsewhere (a VM, a test box). Cached like the rest.
 */
export async function buildKernelImage(o: NewKernelOptions): Promise<KernelImage> {
  await assertBuildTools(o.env, o.crossCompile);
  const configured = await configureNewKernel(o);
  const env = o.env ?? process.env;
  const { tree, log } = configured;
  const modulesRoot = join(configured.buildDir, 'image');
  const make = (targets: string[], vars: Record<string, string> = {}) => makeArgv(targets, { tree, ...o, vars });
  const resumed = await runStages(
    [
      { id: 'build-image', title: `Build vmlinux and modules of Linux ${configured.newRelease}`, resumable: true, run: (progress) => runLogged({ argv: make(['vmlinux', 'modules']), log, env, onProgress: progress }) },
      { id: 'install-image', title: `Install the modules under ${modulesRoot}`, resumable: true, run: () => runLogged({ argv: make(['modules_install'], { INSTALL_MOD_PATH: modulesRoot, INSTALL_MOD_STRIP: '1', DEPMOD: 'true' }), log, env }) },
    ],
    configured.markers,
    o.ui,
  );
  return { release: configured.newRelease, vmlinux: join(tree, 'vmlinux'), modulesRoot, config: join(tree, '.config'), log, configured, resumed: [...configured.resumed, ...resumed] };
}
