import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { Facts } from '../host/facts.js';
import { configValue, decodeConfigFile, parseKernelConfig, type KernelConfig } from '../parse/kconfig.js';
import { compareVersions } from '../parse/kernel-release.js';
import { inputsKey, kernelCacheDir } from './cache.js';
import { sha256 } from '../privileged/sha256.js';
import { scriptsConfigArgv, type ConfigEdit } from './config.js';
import { makeArgv, linkedCopy, runLogged, StageMarkers, type CrossOptions } from './kbuild.js';
import { applyPatch, builtinPatchesDir, selectPatches, type KernelPatch } from './patches.js';
import { installHint, type Distro } from '../distro/distro.js';
import { configRequirements, freeBytes, GiB, missingPackages, missingRequirements, packagingRequirements } from './preflight.js';
import { prepareSource, treeVersion, type PreparedSource, type SourceMatch } from './source.js';
import { runStages, type Stage, type StageUi } from './stages.js';
import { assertVermagic } from './vermagic.js';

export interface CommonBuildOptions extends CrossOptions {
  /** --kernel-src DIR|TARBALL; default: the distro's source package. */
  kernelSrc?: string;
  /** The running kernel's configuration file (plain or gzip, e.g. /proc/config.gz). */
  config: string;
  /** Exact upstream version of the target, when the release hides it (Debian's `uname -v`). */
  upstream?: readonly number[];
  cacheDir?: string;
  jobs?: number;
  /** Optional patches to apply, by name (patches/NAME.patch) or file path. */
  patches?: string[];
  patchesDir?: string;
  /** Environment for the build tools (PATH decides which compilers are found). */
  env?: NodeJS.ProcessEnv;
  /** The build machine, asked which tools and packages it has (the caller's host: src/host/open.ts). */
  host: Host;
  ui?: StageUi;
  log?: (line: string) => void;
}

export interface ModuleBuildOptions extends CommonBuildOptions {
  /** The release the module is for: `uname -r` of the target kernel. */
  release: string;
  /** The distro's Module.symvers; undefined: look in the usual places; false: do not use one. */
  symvers?: string | false;
}

export interface ModuleBuildResult {
  buildDir: string;
  tree: string;
  log: string;
  modules: { kvm: string; kvmPr: string };
  vermagic: string;
  symvers?: string;
  warnings: string[];
  /** Stages skipped because an earlier run had finished them. */
  resumed: string[];
}

export async function readConfigFile(path: string): Promise<{ text: string; config: KernelConfig }> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    throw new UserError(`cannot read the kernel configuration ${path}`);
  }
  const text = decodeConfigFile(data);
  const config = parseKernelConfig(text);
  if (!config) throw new UserError(`${path} is not a kernel configuration (no CONFIG_ lines)`);
  return { text, config };
}

/** Where distros keep the Module.symvers of an installed kernel. */
export function symversCandidates(release: string): string[] {
  return [`/lib/modules/${release}/build/Module.symvers`, `/usr/src/linux-headers-${release}/Module.symvers`, `/usr/src/kernels/${release}/Module.symvers`];
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Fails with the packages to install when a build tool or header is missing. */
export async function assertBuildTools(host: Host, crossCompile: string | undefined, forPackaging = false, config?: KernelConfig): Promise<void> {
  const distro = await new Facts(host).distro();
  const extra = [...(forPackaging ? packagingRequirements(distro) : []), ...(config ? configRequirements(distro, config) : [])];
  const missing = await missingRequirements(host, distro, crossCompile, extra);
  if (missing.length > 0) {
    const hint = installHint(distro, missingPackages(missing) ?? [undefined]);
    throw new UserError(
      `missing build tools: ${missing.map((m) => m.what).join(', ')}.\n` +
        (hint ? `Install them: ${hint}` : `Install the packages that provide them (talos-mac does not know their names on ${distro.name}).`),
    );
  }
}

/** The build machine's row of the distribution table: its packages hold the tools and the source. */
async function buildMachineDistro(host: Host): Promise<Distro> {
  return new Facts(host).distro();
}

/** An extracted 6.1 tree is 1.6 GB; a module build adds ~30 MB (hard-linked tree). */
export const MODULE_BUILD_DISK_GIB = 2;

export async function assertFreeDisk(dir: string, gib: number): Promise<void> {
  const free = await freeBytes(dir);
  if (free !== undefined && free < gib * GiB) {
    throw new UserError(`not enough free disk for ${dir}: ${(free / GiB).toFixed(1)} GB free, about ${gib} GB needed (set XDG_CACHE_HOME or --cache-dir to a bigger disk)`);
  }
}

/** Kbuild dropped SUBDIRS= in 5.4 (warned from 5.0); M= works everywhere it matters. */
export function moduleDirVars(version: readonly number[]): Record<string, string> {
  return compareVersions(version, [5, 4, 0]) < 0 ? { SUBDIRS: 'arch/powerpc/kvm' } : { M: 'arch/powerpc/kvm' };
}

export interface LocatedSource {
  source: PreparedSource & { warning?: string };
  patches: KernelPatch[];
}

/**
 * Finds (and on first use extracts) the source and picks the patches, shown as a stage because
 * extraction takes a while. Not resumable: it is cheap once cached, and it decides the build directory.
 */
export async function locateSource(o: CommonBuildOptions, release: string, match: SourceMatch): Promise<LocatedSource> {
  const cacheDir = o.cacheDir ?? kernelCacheDir(o.env);
  let found: LocatedSource | undefined;
  const stage: Stage = {
    id: 'source',
    title: 'Find the kernel source',
    resumable: false,
    run: async () => {
      const source = await prepareSource({ release, cacheDir, match, distro: await buildMachineDistro(o.host), ...(o.kernelSrc ? { kernelSrc: o.kernelSrc } : {}), ...(o.upstream ? { upstream: o.upstream } : {}), ...(o.log ? { log: o.log } : {}) });
      const patches = await selectPatches(source.version.version, o.patches ?? [], o.patchesDir ?? (await builtinPatchesDir()));
      found = { source, patches };
    },
  };
  await runStages([stage], new StageMarkers(join(cacheDir, 'builds', '.unused')), o.ui);
  return found!;
}

/** .config = the given text, then scripts/config edits, then olddefconfig; returns the result. */
export async function writeConfig(a: { tree: string; text: string; edits: readonly ConfigEdit[]; make: string[]; log: string; env: NodeJS.ProcessEnv }): Promise<KernelConfig> {
  await writeFile(join(a.tree, '.config'), a.text);
  if (a.edits.length) await runLogged({ argv: scriptsConfigArgv(a.tree, a.edits), log: a.log, env: a.env, nice: 0 });
  await runLogged({ argv: a.make, log: a.log, env: a.env });
  const after = parseKernelConfig(await readFile(join(a.tree, '.config'), 'utf8'));
  if (!after) throw new UserError(`olddefconfig left no usable ${join(a.tree, '.config')}; see ${a.log}`, 1);
  return after;
}

/** A linked build tree, then the chosen patches (each dry-run first). Both pipelines start so. */
export function treeStages(source: PreparedSource, tree: string, patches: readonly KernelPatch[], log?: (line: string) => void): Stage[] {
  return [
    { id: 'tree', title: 'Prepare a build tree', resumable: true, run: () => linkedCopy(source.dir, tree) },
    {
      id: 'patch',
      title: patches.length ? `Apply ${patches.map((p) => p.name).join(', ')}` : 'Apply patches (none needed)',
      resumable: true,
      run: async () => {
        for (const p of patches) {
          const outcome = await applyPatch(tree, p);
          log?.(`${p.name}: ${outcome}`);
        }
      },
    },
  ];
}

export async function buildKey(kind: string, o: CommonBuildOptions, extra: Record<string, unknown>, source: PreparedSource, patches: KernelPatch[]): Promise<string> {
  const patchHashes = await Promise.all(patches.map(async (p) => sha256(await readFile(p.file))));
  const configHash = sha256(await readFile(o.config));
  return `${kind}-${source.version.text}-${inputsKey({ source: source.key, configHash, patchHashes, arch: o.arch, cross: o.crossCompile, ...extra })}`;
}

/**
 * Case 1 of issue 5: the running kernel can do KVM-PR but lacks kvm-pr.ko. Build only
 * arch/powerpc/kvm from the matching source, configured like the running kernel, with the
 * release string forced to the target's so that vermagic matches, and check it before returning.
 */
export async function buildPrModule(o: ModuleBuildOptions): Promise<ModuleBuildResult> {
  const { config } = await readConfigFile(o.config);
  if (configValue(config, 'CONFIG_KVM_BOOK3S_PR_POSSIBLE') !== 'y') {
    // The PR entry code (kvmppc_entry_trampoline) is linked into vmlinux only for such kernels:
    // a module built for this one fails to load with "Unknown symbol kvmppc_entry_trampoline".
    throw new UserError(
      `${o.config} lacks CONFIG_KVM_BOOK3S_PR_POSSIBLE=y: kvm-pr needs code inside the kernel image itself (kvmppc_entry_trampoline), so no module built for this kernel can load. A new kernel is needed: talos-mac kernel build-kernel (or talos-mac setup).`,
    );
  }
  const cacheDir = o.cacheDir ?? kernelCacheDir(o.env);
  await assertFreeDisk(cacheDir, MODULE_BUILD_DISK_GIB);
  const { source, patches } = await locateSource(o, o.release, 'exact');
  await assertBuildTools(o.host, o.crossCompile);
  const warnings = source.warning ? [source.warning] : [];

  let symvers: string | undefined;
  if (o.symvers) symvers = o.symvers;
  else if (o.symvers === undefined) symvers = await firstExisting(symversCandidates(o.release));
  if (!symvers && configValue(config, 'CONFIG_MODVERSIONS') === 'y') {
    // Seen booting such a module (tests/kernel/e2e): "kvm: no symbol version for module_layout", insmod "invalid module format".
    const why = `without the kernel's Module.symvers a MODVERSIONS kernel refuses the module ("no symbol version for module_layout")`;
    if (o.symvers === false) warnings.push(`${why}: built anyway, as asked (--no-symvers)`);
    else {
      throw new UserError(
        `no Module.symvers for ${o.release} (looked in ${symversCandidates(o.release).join(', ')}): ${why}.\n` +
          `Install this kernel's headers (Debian/Ubuntu: linux-headers-${o.release}; Fedora: kernel-devel-${o.release}) or pass --symvers FILE.`,
      );
    }
  }

  const buildDir = join(cacheDir, 'builds', await buildKey('module', o, { release: o.release, symvers: symvers ? sha256(await readFile(symvers)) : null }, source, patches));
  const tree = join(buildDir, 'linux');
  const make = (targets: string[], extra: Record<string, string> = {}) =>
    makeArgv(targets, { tree, ...o, vars: { KERNELRELEASE: o.release, ...extra } });
  const log = join(buildDir, 'build.log');
  const markers = new StageMarkers(join(buildDir, 'stages'));
  const env = o.env ?? process.env;
  const version = source.version.version;

  const stages: Stage[] = [
    ...treeStages(source, tree, patches, o.log),
    {
      id: 'configure',
      title: 'Configure like the running kernel',
      resumable: true,
      run: async () => {
        // Not a config change: the running kernel already has it; this keeps it if olddefconfig would drop it.
        const keep: ConfigEdit = { op: 'module', key: 'KVM_BOOK3S_64_PR', why: 'build kvm-pr' };
        const after = await writeConfig({ tree, text: (await readConfigFile(o.config)).text, edits: [keep], make: make(['olddefconfig']), log, env });
        if (configValue(after, 'CONFIG_KVM_BOOK3S_64_PR') !== 'm') {
          throw new UserError(`this source tree will not build KVM-PR as a module with ${o.config} (CONFIG_KVM_BOOK3S_64_PR=${configValue(after, 'CONFIG_KVM_BOOK3S_64_PR')} after olddefconfig); see ${log}`);
        }
      },
    },
    {
      id: 'symvers',
      title: symvers ? `Use the distro's Module.symvers (${symvers})` : 'Module.symvers: none (symbol versions unchecked)',
      resumable: true,
      run: async () => {
        if (symvers) await copyFile(symvers, join(tree, 'Module.symvers'));
      },
    },
    {
      id: 'prepare',
      title: `Prepare for modules (release ${o.release})`,
      resumable: true,
      run: async (progress) => {
        await runLogged({ argv: make(['modules_prepare']), log, env, onProgress: progress });
        const uts = await readFile(join(tree, 'include', 'generated', 'utsrelease.h'), 'utf8');
        const got = /UTS_RELEASE "([^"]*)"/.exec(uts)?.[1];
        if (got !== o.release) throw new UserError(`the prepared tree says release "${got}", not "${o.release}" (include/generated/utsrelease.h)`, 70);
      },
    },
    {
      id: 'modules',
      title: 'Build arch/powerpc/kvm',
      resumable: true,
      run: (progress) => runLogged({ argv: make(['modules'], moduleDirVars(version)), log, env, onProgress: progress }),
    },
  ];
  const resumed = await runStages(stages, markers, o.ui);
  const kvmDir = join(tree, 'arch', 'powerpc', 'kvm');
  const modules = { kvm: join(kvmDir, 'kvm.ko'), kvmPr: join(kvmDir, 'kvm-pr.ko') };
  const vermagic = await assertVermagic(modules.kvmPr, o.release);
  await assertVermagic(modules.kvm, o.release);
  return { buildDir, tree: tree, log, modules, vermagic, ...(symvers ? { symvers } : {}), warnings, resumed };
}

export { treeVersion };
