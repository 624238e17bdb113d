// A Debian kernel source package (linux-source-X.Y) and the stock kernel of the same series whose
// configuration a PR kernel starts from: found in unstable, else experimental (Debian's newest
// kernels), downloaded and unpacked (never installed). The watch for the next kernel
// (TALOS_E2E_KERNEL_SOURCE) names one of these.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PpcArchive, type Suite } from './apt.js';
import { cacheRoot, log } from './cache.js';
import { unpackDebMembers } from './deb.js';
import { debianKernel, debianSplitKernel, type BootKernel } from './debian-kernel.js';

/** Where Debian's newest kernels are, newest last. */
const KERNEL_SUITES: Suite[] = ['sid', 'experimental'];

export interface KernelSource {
  package: string;
  version: string;
  suite: Suite;
  /** X.Y */
  series: string;
  /** usr/src/linux-source-X.Y.tar.xz from the package, for --kernel-src. */
  tarball: string;
}

const seriesOf = (pkg: string): string => {
  const m = /^linux-source-(\d+\.\d+)$/.exec(pkg);
  if (!m) throw new Error(`${pkg} is not a Debian kernel source package name (linux-source-X.Y)`);
  return m[1]!;
};

/** The suite (unstable first) whose index lists pkg. */
async function suiteOf(pkg: string): Promise<{ archive: PpcArchive; version: string }> {
  for (const suite of KERNEL_SUITES) {
    const archive = new PpcArchive(suite);
    const v = (await archive.versions(pkg).catch(() => []))[0];
    if (v) return { archive, version: v.version };
  }
  throw new Error(`no suite of ${KERNEL_SUITES.join(', ')} lists ${pkg}`);
}

export async function kernelSource(pkg: string): Promise<KernelSource> {
  const series = seriesOf(pkg);
  const root = join(cacheRoot(), 'kernel-sources');
  const resolvedFile = join(root, `${pkg}.json`);
  if (existsSync(resolvedFile)) {
    const r = JSON.parse(await readFile(resolvedFile, 'utf8')) as KernelSource;
    if (existsSync(r.tarball)) return r;
  }
  const { archive, version } = await suiteOf(pkg);
  const dest = join(root, archive.suite);
  await mkdir(dest, { recursive: true });
  const deb = await archive.download(`${pkg}=${version}`, dest);
  if (!deb) throw new Error(`${pkg} ${version} (${archive.suite}) does not download`);
  const tree = join(dest, `${pkg}_${version}`);
  await unpackDebMembers(deb, tree, [`./usr/src/linux-source-${series}.tar.xz`]);
  const r: KernelSource = { package: pkg, version, suite: archive.suite, series, tarball: join(tree, 'usr', 'src', `linux-source-${series}.tar.xz`) };
  await writeFile(resolvedFile, JSON.stringify(r, null, 2));
  log(`kernel source: ${pkg} ${version} (${archive.suite})`);
  return r;
}

/**
 * The suite's stock ppc64el kernel of the source's series (4K pages: not the -64k flavour), as its
 * packages install it: split (linux-binary, linux-base, linux-modules) where the image package is a
 * meta over linux-binary-REL (Debian 14), else the classic one package with /boot files.
 */
export async function stockKernelFor(src: KernelSource): Promise<BootKernel> {
  const image = new RegExp(`^linux-image-${src.series.replace('.', '\\.')}(\\.\\d+)?(\\+deb\\d+)?-powerpc64le$`);
  const archive = new PpcArchive(src.suite);
  const newest = (await archive.newestFirst(image))[0];
  if (!newest) throw new Error(`${src.suite} has no ${image} package`);
  const depends = (await archive.cache(['show', `${newest.name}=${newest.version}`])).match(/^Depends: (.*)$/m)?.[1] ?? '';
  return /\blinux-binary-/.test(depends) ? debianSplitKernel(src.suite, image) : debianKernel(src.suite, image);
}
