import { appendFile, chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { configValue, parseKernelConfig, type KernelConfig } from '../parse/kconfig.js';
import { Facts } from '../host/facts.js';
import type { Host } from '../host/host.js';
import { BuildProgress, CALIBRATION_OBJECTS, calibrationFrom, defaultJobs, enabledOptions, hasDebugInfo, newKernelCost, readBuildRecords, recordBuild, writtenBytes, type Calibration } from './build-cost.js';
import { kernelCacheDir } from './cache.js';
import { configHeaderVersion, formatGroups, groupDiff, kconfigSymbols, type GroupedDiff } from './config-groups.js';
import { configDiff, localVersionEdit, missingKeyFileEdits, prConfigured, prEdits, type ConfigChange, type ConfigEdit } from './config.js';
import { makeArgv, runLogged, StageMarkers } from './kbuild.js';
import { configRequirements, missingRequirements, type Missing } from './preflight.js';
import { signingDecision, type SigningDecision } from './signing.js';
import { assertBuildTools, assertFreeDisk, buildKey, writeConfig, readConfigFile, locateSource, treeStages, type CommonBuildOptions } from './module-build.js';
import { droppedList, droppedOptions, droppedSummary, dropListFile, reductionEdits, writeLsmod, type Dropped, type Reduction } from './reduce.js';
import { hasFeature, type Distro } from '../distro/distro.js';
import type { SystemChanges } from '../privileged/runner.js';
import type { RecordedBy } from '../privileged/record.js';
import type { PreparedSource } from './source.js';
import { runStages, type Stage } from './stages.js';
import { debPackageOwning, recordProvenance, type Provenance } from './provenance.js';
import { DEFAULT_LOCALVERSION } from './options.js';

export interface NewKernelOptions extends CommonBuildOptions {
  /** The running kernel's release: picks the distro source (linux-source-X.Y) to build from. */
  release: string;
  /** Appended to the release so the kernel is recognisably ours (default "-talosmac"). */
  localVersion?: string;
  /** Reduce the configuration to these loaded modules (make localmodconfig) before the KVM-PR edits. */
  reduce?: Reduction;
  /** Build even when choices differ because of the build machine (they are printed). */
  acceptBuildMachineDifferences?: boolean;
}

export interface ConfiguredKernel {
  buildDir: string;
  tree: string;
  log: string;
  edits: ConfigEdit[];
  /** The KVM-PR edits alone (the rest of `edits` are talos-mac's own settings). */
  prEdits: ConfigEdit[];
  before: KernelConfig;
  after: KernelConfig;
  /** Every option that differs from the running kernel's configuration. */
  diff: ConfigChange[];
  /** The same differences, by cause (src/kernel/config-groups.ts). */
  groups: GroupedDiff;
  /** Tools the distribution built this kernel with that this machine lacks (pahole…). */
  missingTools: Missing[];
  signing: SigningDecision;
  /** The release the new kernel will have, from include/config/kernel.release. */
  newRelease: string;
  source: PreparedSource;
  markers: StageMarkers;
  resumed: string[];
  /** With `reduce`: what localmodconfig (and the reduction's own edits) turned off, and the one-line summary. */
  dropped?: Dropped & { summary: string; listFile: string };
}

/** The stages built on the configuration: redone when it changes. */
const BUILD_STAGES = ['calibrate', 'build', 'build-image', 'build-package', 'install-image'];

/** Bumped when the way the configuration is made changes: a new build directory, not a stale resumed one. */
const CONFIG_SCHEME = 2;

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
  const buildDir = join(cacheDir, 'builds', await buildKey('kernel', o, { localVersion, scheme: CONFIG_SCHEME, ...reduceKey }, source, patches));
  const tree = join(buildDir, 'linux');
  const log = join(buildDir, 'build.log');
  const markers = new StageMarkers(join(buildDir, 'stages'));
  const env = o.env ?? process.env;
  const pr = prEdits(before);
  const signing = signingDecision(before, tree);
  // talos-mac's own settings go into the first olddefconfig run, so that the second one shows
  // what the KVM-PR edits (and only they) change.
  const own = [
    ...signing.edits,
    ...(await missingKeyFileEdits(before, source.dir)),
    { op: 'set-str' as const, key: 'BUILD_SALT', value: '', why: "the distribution's installed config leaves it out; it only salts the build ID" },
    localVersionEdit(localVersion),
  ];
  const make = (targets: string[]) => makeArgv(targets, { tree, ...o });
  const baseFile = join(buildDir, 'base.config');
  const reducedFile = join(buildDir, 'reduced.config');
  const configuredFile = join(buildDir, 'configured.config');

  const stages: Stage[] = [
    ...treeStages(source, tree, patches, o.log),
    {
      id: 'configure',
      title: 'Configure: running config + KVM-PR',
      // Run every time (seconds): the result depends on this machine's tools (pahole, the
      // compiler), which may have changed since; the stages after it are redone only if it did.
      resumable: false,
      run: async () => {
        await writeConfig({ tree, text, edits: own, make: make(['olddefconfig']), log, env });
        const baseText = await readFile(join(tree, '.config'), 'utf8');
        await writeFile(baseFile, baseText);
        const start = o.reduce ? await reducedConfig(o.reduce, { tree, text: baseText, buildDir, log, env, make }) : baseText;
        if (o.reduce) await writeFile(reducedFile, start);
        const after = await writeConfig({ tree, text: start, edits: pr, make: make(['olddefconfig']), log, env });
        if (!prConfigured(after)) {
          const why = configValue(after, 'CONFIG_CONTEXT_TRACKING_USER') === 'y' ? ': CONTEXT_TRACKING_USER is still selected by another option' : '';
          throw new UserError(`after olddefconfig the configuration still has no KVM-PR module${why}; see ${join(tree, '.config')}`);
        }
        // Writes include/config/kernel.release, the name the kernel will have.
        await runLogged({ argv: make(['include/config/kernel.release']), log, env });
        const made = await readFile(join(tree, '.config'), 'utf8');
        const previous = await readFile(configuredFile, 'utf8').catch(() => undefined);
        if (made !== previous) {
          await markers.invalidate(BUILD_STAGES);
          await writeFile(configuredFile, made);
        }
      },
    },
  ];
  const resumed = await runStages(stages, markers, o.ui);
  const read = async (f: string) => parseKernelConfig(await readFile(f, 'utf8'))!;
  const after = await read(join(tree, '.config'));
  const base = await read(baseFile);
  const reducedBase = o.reduce ? await read(reducedFile) : undefined;
  const newRelease = (await readFile(join(tree, 'include', 'config', 'kernel.release'), 'utf8')).trim();
  const dropped = o.reduce ? { ...(JSON.parse(await readFile(join(buildDir, 'reduction.json'), 'utf8')) as Dropped & { summary: string }), listFile: dropListFile(buildDir) } : undefined;
  const header = configHeaderVersion(text);
  const groups = groupDiff({
    original: before,
    base,
    ...(reducedBase ? { reducedBase } : {}),
    final: after,
    prEdits: pr,
    ownEdits: own,
    otherVersion: header !== undefined && header !== source.version.text,
    defined: await kconfigSymbols(tree),
  });
  const missingTools = await missingDistroTools(before, o.host);
  return {
    buildDir, tree, log, edits: [...pr, ...own], prEdits: pr, before, after, diff: configDiff(before, after), groups, missingTools, signing,
    newRelease, source, markers, resumed, ...(dropped ? { dropped } : {}),
  };
}

/** The tools the distribution's build had (pahole…) that this build machine lacks. */
async function missingDistroTools(config: KernelConfig, host: Host): Promise<Missing[]> {
  const distro = await new Facts(host).distro();
  const reqs = configRequirements(distro, config);
  if (reqs.length === 0) return [];
  const all = await missingRequirements(host, distro, '', reqs);
  return all.filter((m) => reqs.some((r) => r.what === m.what));
}

/** The grouped diff, the signing decision: what configure-kernel and build-kernel print. */
export function configuredReport(c: ConfiguredKernel, accepted = false): string[] {
  return [...formatGroups(c.groups, { missing: c.missingTools, accepted }), ...c.signing.lines];
}

/**
 * Before hours of compiling: a tool the distribution built with is missing (pahole), or a choice
 * differs because of this build machine (a compiler of another major version decides OBJTOOL,
 * patchable function entries…). Both stop the build; the second can be accepted explicitly.
 */
export function assertBuildMachine(c: ConfiguredKernel, accept: boolean): void {
  const { missingTools: missing, groups } = c;
  if (missing.length > 0) {
    const pkgs = missing.map((m) => m.package);
    throw new UserError(
      `not building: the distribution built this kernel with tools this machine lacks: ${missing.map((m) => m.what).join(', ')}.\n` +
        (pkgs.every(Boolean) ? `Install ${pkgs.join(' ')} (talos-mac setup --build-kernel installs it), then run this again.` : 'Install them, then run this again.'),
    );
  }
  if (groups.buildMachine.length > 0 && !accept) {
    const why = groups.toolchain.filter((t) => /_VERSION$|VERSION_TEXT$/.test(t.key)).map((t) => `  ${t.key.replace(/^CONFIG_/, '')}: ${t.before} (distribution) -> ${t.after} (here)`);
    throw new UserError(
      `not building: ${groups.buildMachine.length} option${groups.buildMachine.length === 1 ? '' : 's'} would differ from the running kernel's because of this build machine, not because of KVM-PR:\n` +
        `${groups.buildMachine.map((c) => `  ${c.key.replace(/^CONFIG_/, '')}: ${c.before} -> ${c.after}`).join('\n')}\n` +
        (why.length ? `The tools differ:\n${why.join('\n')}\n` : '') +
        'Build on a machine with the distribution\'s own compiler (its release), or accept the differences: --accept-build-machine-differences.',
    );
  }
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
  /** The step the record names (kernel.pr-support, kernel.distro-newer): its undo is undoNewKernel. */
  step: RecordedBy;
  /** Told what the build will cost before it starts. */
  onCost?: (text: string) => void;
  /** Told the grouped diff and the signing decision before the build. */
  onReport?: (lines: string[]) => void;
}

/**
 * The stages every full build shares: a calibration in the tree when no build is recorded here,
 * the cost said and the disk checked, then the build itself with progress (objects done of the
 * estimate, time left at the rate so far); afterwards the real figures are recorded.
 */
async function costedBuild(
  o: NewKernelOptions & { onCost?: (text: string) => void },
  configured: ConfiguredKernel,
  build: { id: string; title: string; targets: string[] },
  more: Stage[] = [],
): Promise<string[]> {
  const env = o.env ?? process.env;
  const { tree, log, buildDir } = configured;
  const jobs = o.jobs ?? defaultJobs();
  const make = (targets: string[], j = jobs) => makeArgv(targets, { tree, ...o, jobs: j });
  const records = (await readBuildRecords(o.env)).filter((r) => r.debugInfo === hasDebugInfo(configured.after));
  const calibrationFile = join(buildDir, 'calibration.json');
  const calibrate: Stage = {
    id: 'calibrate',
    title: `Calibrate: compile ${CALIBRATION_OBJECTS.length} of its objects and time them`,
    resumable: true,
    run: async (progress) => {
      await runLogged({ argv: make(['prepare']), log, env, onProgress: progress });
      const t0 = Date.now();
      await runLogged({ argv: make(CALIBRATION_OBJECTS, 1), log, env, onProgress: progress });
      const t1 = Date.now();
      // The same make again has nothing to compile: what it takes is make's own overhead.
      await runLogged({ argv: make(CALIBRATION_OBJECTS, 1), log, env });
      const overhead = (Date.now() - t1) / 1000;
      const sizes = await Promise.all(CALIBRATION_OBJECTS.map(async (f) => (await stat(join(tree, f))).size));
      const each = (t1 - t0) / 1000 / CALIBRATION_OBJECTS.length;
      await writeFile(calibrationFile, JSON.stringify(calibrationFrom(sizes.map((bytes) => ({ seconds: each, bytes })), overhead)));
    },
  };
  const resumed = records.length ? [] : await runStages([calibrate], configured.markers, o.ui);
  const calibration = records.length ? undefined : (JSON.parse(await readFile(calibrationFile, 'utf8')) as Calibration);
  const cost = await newKernelCost(configured.after, { jobs, ...(o.env ? { env: o.env } : {}), ...(calibration ? { calibration } : {}) });
  o.onCost?.(cost.text);
  await assertFreeDisk(buildDir, cost.diskGiB);
  const progress = new BuildProgress(cost.objects);
  let ran: number | undefined;
  const buildStage: Stage = {
    id: build.id,
    title: build.title,
    resumable: true,
    run: async (report) => {
      const t0 = Date.now();
      await runLogged({ argv: make(build.targets), log, env, onProgress: (t) => report(progress.step(t)) });
      ran = (Date.now() - t0) / 1000;
    },
  };
  resumed.push(...(await runStages([buildStage, ...more], configured.markers, o.ui)));
  if (configured.signing.key) await chmod(configured.signing.key, 0o600).catch(() => undefined);
  if (ran !== undefined && progress.done > 0) {
    await recordBuild(
      { when: new Date().toISOString(), release: configured.newRelease, objects: progress.done, options: enabledOptions(configured.after), debugInfo: hasDebugInfo(configured.after), seconds: ran, jobs, cpus: cpus().length, diskBytes: await writtenBytes(buildDir) },
      o.env,
    );
  }
  return resumed;
}

/** Case 2, the rest: build, package, install. The caller reports that a reboot is needed. */
export async function buildNewKernel(o: BuildKernelOptions): Promise<{ release: string; installed: string[][]; log: string; provenance: Provenance }> {
  await assertBuildTools(o.host, o.crossCompile, true, (await readConfigFile(o.config)).config);
  const configured = await configureNewKernel(o);
  o.onReport?.(configuredReport(configured, o.acceptBuildMachineDifferences));
  assertBuildMachine(configured, o.acceptBuildMachineDifferences ?? false);
  const plan = packagePlan(o.distro);
  const { tree, log } = configured;
  await costedBuild(o, configured, { id: 'build', title: `Build Linux ${configured.newRelease} as ${plan.describe}`, targets: plan.target });
  const installed: string[][] = [];
  const installedNames: string[] = [];
  const pm = o.distro.packages;
  if (!pm && plan.target[0] !== 'all') throw new UserError(`talos-mac does not know the package manager of ${o.distro.name}: cannot install the kernel it packaged`, 1);
  const install = async (files: string[], names: string[]) => {
    installed.push(pm!.install(files));
    installedNames.push(...names);
    await o.runner.installKernel(o.step, pm!, files, names, configured.newRelease);
  };
  if (plan.target[0] === 'bindeb-pkg') {
    const debs = await builtDebs(configured);
    // A .deb file is named PACKAGE_VERSION_ARCH.deb, and package names hold no "_" (deb-version(7), Debian Policy 5.6.1).
    await install(debs, debs.map((d) => basename(d).split('_')[0]!));
  } else if (plan.target[0] === 'binrpm-pkg') {
    const rpms = await findRpms([join(homedir(), 'rpmbuild', 'RPMS'), dirname(tree)], configured.newRelease.replace(/-/g, '_'));
    if (rpms.length === 0) throw new UserError(`make binrpm-pkg left no kernel RPM for ${configured.newRelease}; see ${log}`, 1);
    // NAME-VERSION-RELEASE.ARCH.rpm: removed by NAME-VERSION-RELEASE, never by the bare name "kernel" (the distribution's too).
    await install(rpms, rpms.map((f) => basename(f).replace(/\.[^.]+\.rpm$/, '')));
  } else {
    const argv = makeArgv(['modules_install', 'install'], { tree, ...o, jobs: 1 });
    installed.push(argv);
    await o.runner.command(o.step, argv);
  }
  const provenance = await provenanceOf(o, configured, installedNames);
  await recordProvenance(o.runner, o.step, provenance);
  return { release: configured.newRelease, installed, log, provenance };
}

/** The linux-image (and linux-headers) packages make bindeb-pkg left beside the tree. */
async function builtDebs(c: ConfiguredKernel): Promise<string[]> {
  const debs = (await readdir(c.buildDir)).filter((f) => /^linux-(image|headers)-.*\.deb$/.test(f) && f.includes(c.newRelease) && !f.includes('-dbg'));
  if (debs.length === 0) throw new UserError(`make bindeb-pkg left no linux-image package in ${c.buildDir}; see ${c.log}`, 1);
  return debs.map((d) => join(c.buildDir, d));
}

/** What this kernel was built from, for the update checks (src/steps/checks/kernel-updates.ts). */
async function provenanceOf(o: BuildKernelOptions, c: ConfiguredKernel, packages: string[]): Promise<Provenance> {
  const deb = hasFeature(o.distro, 'dpkg');
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
  /** With `packaging` bindeb-pkg: the packages built (not installed). */
  packages?: string[];
}

/**
 * vmlinux and the modules, installed under the build directory, not installed on this host: for
 * booting the kernel elsewhere (a VM, a test box). With `packaging` (packagePlan of the machine it
 * is for) also packaged as buildNewKernel packages it, for that machine's package manager. Cached like the rest.
 */
export async function buildKernelImage(o: NewKernelOptions & { onCost?: (text: string) => void; onReport?: (lines: string[]) => void; packaging?: PackagePlan }): Promise<KernelImage> {
  await assertBuildTools(o.host, o.crossCompile, o.packaging !== undefined, (await readConfigFile(o.config)).config);
  const configured = await configureNewKernel(o);
  o.onReport?.(configuredReport(configured, o.acceptBuildMachineDifferences));
  assertBuildMachine(configured, o.acceptBuildMachineDifferences ?? false);
  const env = o.env ?? process.env;
  const { tree, log } = configured;
  const modulesRoot = join(configured.buildDir, 'image');
  const make = (targets: string[], vars: Record<string, string> = {}) => makeArgv(targets, { tree, ...o, vars });
  const packaged = o.packaging?.target[0] === 'bindeb-pkg';
  const build = packaged
    ? { id: 'build-package', title: `Build Linux ${configured.newRelease} as ${o.packaging!.describe.replace(/, installed with .*$/, '')}`, targets: o.packaging!.target }
    : { id: 'build-image', title: `Build vmlinux and modules of Linux ${configured.newRelease}`, targets: ['vmlinux', 'modules'] };
  if (o.packaging && !packaged) throw new UserError(`an image for elsewhere is packaged only as Debian packages (bindeb-pkg), not ${o.packaging.describe}`);
  const resumed = await costedBuild(o, configured, build, [
    { id: 'install-image', title: `Install the modules under ${modulesRoot}`, resumable: true, run: () => runLogged({ argv: make(['modules_install'], { INSTALL_MOD_PATH: modulesRoot, INSTALL_MOD_STRIP: '1', DEPMOD: 'true' }), log, env }) },
  ]);
  return {
    release: configured.newRelease, vmlinux: join(tree, 'vmlinux'), modulesRoot, config: join(tree, '.config'), log, configured, resumed: [...configured.resumed, ...resumed],
    ...(packaged ? { packages: await builtDebs(configured) } : {}),
  };
}
