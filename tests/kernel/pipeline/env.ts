// Shared set-up for the opt-in kernel pipeline suite (npm run test:kernel).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const fixtures = join(repoRoot, 'tests', 'fixtures', 'kernel');
export const SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
export const CROSS = 'powerpc64le-linux-gnu-';
/** A fixed cache, so re-runs reuse the extracted source and finished build stages. */
export const cacheDir = process.env['TALOS_MAC_KERNEL_TEST_CACHE'] ?? join(tmpdir(), 'talos-mac-kernel-test-cache');

/** Fail loudly (not skip) when the suite's packages are missing: it was asked for. */
export function requireKernelToolchain(): void {
  const missing = [SOURCE_TARBALL, `/usr/bin/${CROSS}gcc`].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`the kernel suite needs ${missing.join(' and ')}: apt-get install linux-source-6.1 gcc-powerpc64le-linux-gnu bc flex bison libssl-dev libelf-dev`);
  }
}

/**
 * A stock Debian kernel's configuration and the linux-source package of the same version, both
 * from Debian's archive (the POWER9 box's downloader and cache, tests/e2e/power9/lib): config
 * and source match exactly, so what differs comes from the edits and the build machine only.
 */
export interface DebianPair {
  suite: 'bookworm' | 'trixie';
  config: string;
  release: string;
  /** The package version, e.g. 6.12.113-1. */
  version: string;
  tarball: string;
}

export async function debianPair(suite: 'bookworm' | 'trixie'): Promise<DebianPair> {
  const { debianKernel } = await import('../../e2e/power9/lib/debian-kernel.js');
  const { PpcArchive } = await import('../../e2e/power9/lib/apt.js');
  const { cacheRoot } = await import('../../e2e/power9/lib/cache.js');
  const { unpackDebMembers } = await import('../../e2e/power9/lib/deb.js');
  const { existsSync } = await import('node:fs');
  const { mkdir, readdir, rename } = await import('node:fs/promises');
  const image = suite === 'bookworm' ? /^linux-image-6\.1\.0-\d+-powerpc64le$/ : /^linux-image-6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/;
  const k = await debianKernel(suite, image);
  const version = / (\S+) \(\w+\)$/.exec(k.origin)?.[1];
  if (!version) throw new Error(`no version in ${k.origin}`);
  const series = suite === 'bookworm' ? '6.1' : '6.12';
  const dir = join(cacheRoot(), 'kernel-sources', suite, version);
  // The machine's own linux-source-6.1 (.ci/run installs it) when it is that very version.
  const { execFileSync } = await import('node:child_process');
  let installed = '';
  try {
    installed = execFileSync('dpkg-query', ['-W', '-f', '${Version}', `linux-source-${series}`], { encoding: 'utf8' });
  } catch {
    /* not installed */
  }
  const own = `/usr/src/linux-source-${series}.tar.xz`;
  if (installed === version && existsSync(own)) return { suite, config: k.config, release: k.release, version, tarball: own };
  const tarball = join(dir, `linux-source-${series}.tar.xz`);
  if (!existsSync(tarball)) {
    await mkdir(dir, { recursive: true });
    const deb = await new PpcArchive(suite).download(`linux-source-${series}=${version}`, dir);
    if (!deb) throw new Error(`linux-source-${series} ${version} does not download from the archive`);
    await unpackDebMembers(deb, join(dir, 'unpacked'), [`./usr/src/linux-source-${series}.tar.xz`]);
    await rename(join(dir, 'unpacked', 'usr', 'src', `linux-source-${series}.tar.xz`), tarball);
    for (const f of await readdir(dir)) if (f.endsWith('.deb')) await (await import('node:fs/promises')).rm(join(dir, f));
  }
  return { suite, config: k.config, release: k.release, version, tarball };
}

/** A PATH of links to everything on `path` except the named programs: the machine without them. */
export async function pathWithout(names: readonly string[], path = process.env['PATH'] ?? ''): Promise<string> {
  const { mkdtemp, readdir, symlink } = await import('node:fs/promises');
  const farm = await mkdtemp(join(tmpdir(), 'talos-mac-path-'));
  const seen = new Set<string>(names);
  for (const d of path.split(':').filter(Boolean)) {
    let entries: string[] = [];
    try {
      entries = await readdir(d);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (seen.has(e)) continue;
      seen.add(e);
      await symlink(join(d, e), join(farm, e));
    }
  }
  return farm;
}
