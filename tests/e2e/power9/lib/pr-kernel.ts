// The KVM-PR kernels the box boots, built by talos-mac's own pipeline (buildKernelImage, cross
// mode) from a Debian kernel source with the stock kernel's config of the same series, reduced
// (make localmodconfig) to what the box itself had loaded (the box snapshot's /proc/modules):
// Debian 12's linux-source-6.1 (vmlinux and modules), and any newer linux-source-X.Y of unstable or
// experimental (packaged by make bindeb-pkg as talos-mac packages kernels for Debian).
// Cached by the pipeline (by source version, config and module list): a second run builds nothing.
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DISTROS } from '../../../../src/distro/distro.js';
import { buildKernelImage, packagePlan, type KernelImage } from '../../../../src/kernel/new-kernel.js';
import { readReduction } from '../../../../src/kernel/reduce.js';
import { REPO } from './box.js';
import { cacheRoot, log } from './cache.js';
import { unpackDeb } from './deb.js';
import type { BootKernel } from './debian-kernel.js';
import { kernelSource, stockKernelFor, type KernelSource } from './kernel-source.js';
import { LiveHost } from '../../../../src/host/live-host.js';

export const PR_SOURCE = '/usr/src/linux-source-6.1.tar.xz';
export const PR_CROSS = 'powerpc64le-linux-gnu-';
/** What the Debian 12 box had loaded (captured by part A's scenario 1). */
export const BOX_MODULES = join(REPO, 'tests', 'fixtures', 'snapshots', 'box-debian12-6.1-radix', 'proc', 'modules');

/** Why the PR kernel cannot be built here, or undefined. */
export function prKernelMissing(): string | undefined {
  const missing = [PR_SOURCE, `/usr/bin/${PR_CROSS}gcc`].filter((p) => !existsSync(p));
  return missing.length ? `needs ${missing.join(' and ')} (apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu bc flex bison libssl-dev libelf-dev)` : undefined;
}

/** What a finished build of the 6.1 PR kernel left: the box's record that its cache is warm. */
interface PrBuilt {
  source: { size: number; mtimeMs: number };
  stockRelease: string;
  release: string;
  vmlinux: string;
  seconds: number;
  builtAt: string;
}

const prBuiltRecord = (): string => join(cacheRoot(), 'kernel-build', 'built', 'pr-6.1.json');

/** Undefined when this machine has built the 6.1 PR kernel from this source and this stock kernel and kept it; else why not. */
async function prKernelCold(stock: BootKernel): Promise<string | undefined> {
  const f = prBuiltRecord();
  if (!existsSync(f)) return 'the PR kernel has not been built on this machine';
  const r = JSON.parse(await readFile(f, 'utf8')) as PrBuilt;
  const src = await stat(PR_SOURCE);
  if (r.source.size !== src.size || r.source.mtimeMs !== src.mtimeMs) return `the PR kernel was built from another ${PR_SOURCE}`;
  if (r.stockRelease !== stock.release) return `the PR kernel was built with ${r.stockRelease}'s config; Debian 12's kernel is now ${stock.release}`;
  if (!existsSync(r.vmlinux)) return `the PR kernel is gone from the cache (${r.vmlinux})`;
  return undefined;
}

/**
 * Why the scenarios on the 6.1 PR kernel are skipped here, or undefined: its tools are missing, or
 * its build is cold (12–19 min here, more than CI's budget leaves beside the other suites) and
 * nobody asked for it (TALOS_E2E_PR_KERNEL=build). Once built, every later run uses it.
 */
export async function prKernelSkip(stock: () => Promise<BootKernel>): Promise<string | undefined> {
  const missing = prKernelMissing();
  if (missing) return `the PR kernel ${missing}`;
  if (process.env.TALOS_E2E_PR_KERNEL === 'build') return undefined;
  const cold = await prKernelCold(await stock());
  if (!cold) return undefined;
  const why = `${cold}: its cold build does not fit CI's budget; TALOS_E2E_PR_KERNEL=build npm run test:power9 builds it, and later runs use it`;
  log(`skipped: ${why}`);
  return why;
}

export interface PrKernel extends BootKernel {
  image: KernelImage;
  seconds: number;
}

type BuildOptions = Parameters<typeof buildKernelImage>[0];

/** The box's build of one source and config: -j2 under nice, the box's own cache, the log lines. */
async function boxBuild(o: Pick<BuildOptions, 'kernelSrc' | 'config' | 'release' | 'acceptBuildMachineDifferences' | 'packaging'> & { tag: string; env?: NodeJS.ProcessEnv }): Promise<{ image: KernelImage; seconds: number }> {
  const t0 = Date.now();
  const env = { ...process.env, ...o.env, XDG_CACHE_HOME: join(cacheRoot(), 'kernel-build', 'xdg') };
  const image = await buildKernelImage({
    ...o,
    host: new LiveHost(env),
    crossCompile: PR_CROSS,
    // Both cores, under nice (runLogged's default): -j CPUs-1 would be -j1 on the 2-core CI machine.
    jobs: Number(process.env.TALOS_E2E_KERNEL_JOBS ?? 2),
    cacheDir: join(cacheRoot(), 'kernel-build'),
    // The build's calibration and its recorded cost (kernel-builds.json) stay in the box cache, not the user's.
    env,
    onCost: (text) => log(`${o.tag}: ${text}`),
    onReport: (lines) => lines.forEach((l) => log(`${o.tag}: ${l}`)),
    reduce: await readReduction(BOX_MODULES, new LiveHost()),
    ui: (e) => {
      if (e.kind === 'start' || e.kind === 'skip') log(`${o.tag}: ${e.kind === 'skip' ? 'cached' : 'start'}: ${e.stage.title}`);
      if (e.kind === 'done') log(`${o.tag}: ${e.stage.title}: ${(e.ms / 1000).toFixed(0)} s`);
    },
  });
  const seconds = (Date.now() - t0) / 1000;
  if (image.configured.dropped) log(`${o.tag}: ${image.configured.dropped.summary} (list: ${image.configured.dropped.listFile})`);
  const built = image.resumed.includes('build-image') || image.resumed.includes('build-package');
  log(`${o.tag}: ${image.release} ready in ${seconds.toFixed(0)} s${built ? ' (cached)' : ''}`);
  return { image, seconds };
}

export async function prKernel(stock: BootKernel): Promise<PrKernel> {
  const why = prKernelMissing();
  if (why) throw new Error(`the PR kernel ${why}`);
  const { image, seconds } = await boxBuild({ kernelSrc: PR_SOURCE, config: stock.config, release: stock.release, tag: 'pr kernel' });
  const src = await stat(PR_SOURCE);
  const built: PrBuilt = { source: { size: src.size, mtimeMs: src.mtimeMs }, stockRelease: stock.release, release: image.release, vmlinux: image.vmlinux, seconds, builtAt: new Date().toISOString() };
  await mkdir(dirname(prBuiltRecord()), { recursive: true });
  await writeFile(prBuiltRecord(), JSON.stringify(built, null, 2) + '\n');
  return {
    release: image.release,
    vmlinux: image.vmlinux,
    config: image.config,
    modulesRoot: image.modulesRoot,
    origin: `talos-mac buildKernelImage: linux-source-6.1 with ${stock.origin}'s config, reduced to the box's modules`,
    image,
    seconds,
  };
}

export interface PackagedPrKernel extends PrKernel {
  source: KernelSource;
  stock: BootKernel;
  /** The linux-image package make bindeb-pkg made (what talos-mac would install with apt-get). */
  imageDeb: string;
}

/** What a finished build of a source package's PR kernel left: the box's record that its cache is warm. */
interface BuiltRecord {
  package: string;
  version: string;
  release: string;
  imageDeb: string;
  seconds: number;
  builtAt: string;
}

const builtRecord = (pkg: string): string => join(cacheRoot(), 'kernel-build', 'built', `${pkg}.json`);

/** Undefined when this machine has built pkg's PR kernel (the same source version) and kept it; else why not. */
export async function sourcePrCold(pkg: string): Promise<string | undefined> {
  const f = builtRecord(pkg);
  if (!existsSync(f)) return `${pkg}'s PR kernel has not been built on this machine`;
  const r = JSON.parse(await readFile(f, 'utf8')) as BuiltRecord;
  if (!existsSync(r.imageDeb)) return `${pkg}'s PR kernel package is gone from the cache (${r.imageDeb})`;
  const src = join(cacheRoot(), 'kernel-sources', `${pkg}.json`);
  const version = existsSync(src) ? (JSON.parse(await readFile(src, 'utf8')) as KernelSource).version : undefined;
  if (version !== r.version) return `${pkg}'s PR kernel was built from ${r.version}, the source is now ${version ?? 'unknown'}`;
  return undefined;
}

/**
 * A PR kernel from a Debian kernel source package (linux-source-7.2, experimental's 7.3…) with the
 * config of its suite's stock kernel, reduced like the 6.1 one, built with this machine's GCC
 * (the build-machine differences are accepted on purpose and printed), packaged as talos-mac
 * packages a kernel on a Debian host (packagePlan: make bindeb-pkg), and unpacked on this side to
 * boot its /boot/vmlinux-REL; the box installs the package itself.
 */
export async function sourcePrKernel(pkg: string): Promise<PackagedPrKernel> {
  if (!existsSync(`/usr/bin/${PR_CROSS}gcc`)) throw new Error(`the ${pkg} PR kernel needs ${PR_CROSS}gcc (apt-get install gcc-powerpc64le-linux-gnu)`);
  const source = await kernelSource(pkg);
  const stock = await stockKernelFor(source);
  const debian = DISTROS.find((d) => d.id === 'debian-14')!;
  const tag = `pr kernel ${source.series}`;
  const { image, seconds } = await boxBuild({
    kernelSrc: source.tarball,
    config: stock.config,
    release: stock.release,
    acceptBuildMachineDifferences: true,
    packaging: packagePlan(debian),
    tag,
    // Cross-built, the linux-headers package rebuilds its host programs with the target's compiler and
    // Build-Depends the target's libssl-dev (7.2's mkdebian; dpkg-buildpackage checks it for bindeb-pkg):
    // the box needs only linux-image (Kbuild's build profile, scripts/package/mkdebian).
    env: { DPKG_FLAGS: '-Ppkg.linux-upstream.nokernelheaders' },
  });
  const imageDeb = (image.packages ?? []).find((p) => basename(p).startsWith(`linux-image-${image.release}_`));
  if (!imageDeb) throw new Error(`${tag}: no linux-image-${image.release} package among ${(image.packages ?? []).join(', ')}`);
  const unpacked = imageDeb.replace(/\.deb$/, '.unpacked');
  if (!existsSync(join(unpacked, '.complete'))) {
    await unpackDeb(imageDeb, unpacked);
    await readFile(join(unpacked, 'boot', `config-${image.release}`));
    await writeFile(join(unpacked, '.complete'), '');
  }
  log(`${tag}: packaged as ${(image.packages ?? []).map((p) => basename(p)).join(', ')}`);
  const record: BuiltRecord = { package: pkg, version: source.version, release: image.release, imageDeb, seconds, builtAt: new Date().toISOString() };
  // The first (cold) build's figures are kept: a cached run's seconds say nothing of the build.
  if ((await sourcePrCold(pkg)) !== undefined) {
    await mkdir(dirname(builtRecord(pkg)), { recursive: true });
    await writeFile(builtRecord(pkg), JSON.stringify(record, null, 2));
  }
  return {
    release: image.release,
    vmlinux: join(unpacked, 'boot', `vmlinux-${image.release}`),
    config: join(unpacked, 'boot', `config-${image.release}`),
    modulesRoot: unpacked,
    origin: `talos-mac buildKernelImage (make bindeb-pkg): ${pkg} ${source.version} (${source.suite}) with ${stock.origin}'s config, reduced to the box's modules`,
    image,
    seconds,
    source,
    stock,
    imageDeb,
  };
}
