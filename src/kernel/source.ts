import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { installHint, sourcePackage, sourceTarballs, type Distro } from '../distro/distro.js';
import { UserError } from '../errors.js';
import { compareVersions, kernelVersion } from '../parse/kernel-release.js';
import { sha256File } from './cache.js';

export interface KernelTreeVersion {
  /** [VERSION, PATCHLEVEL, SUBLEVEL] from the top Makefile. */
  version: [number, number, number];
  /** KERNELVERSION as Kbuild prints it, e.g. "6.1.192". */
  text: string;
}

export function parseTreeVersion(makefile: string): KernelTreeVersion | undefined {
  const get = (k: string) => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, 'm').exec(makefile)?.[1] ?? '';
  const [v, p, s, extra] = [get('VERSION'), get('PATCHLEVEL'), get('SUBLEVEL'), get('EXTRAVERSION')];
  if (!/^\d+$/.test(v) || !/^\d+$/.test(p)) return undefined;
  const sub = /^\d+$/.test(s) ? Number(s) : 0;
  return { version: [Number(v), Number(p), sub], text: `${v}.${p}${s ? `.${s}` : ''}${extra}` };
}

export async function treeVersion(dir: string): Promise<KernelTreeVersion> {
  let text: string;
  try {
    text = await readFile(join(dir, 'Makefile'), 'utf8');
  } catch {
    throw new UserError(`${dir} is not a kernel source tree (no Makefile)`);
  }
  const v = parseTreeVersion(text);
  if (!v || !(await isDir(join(dir, 'arch', 'powerpc', 'kvm')))) throw new UserError(`${dir} is not a Linux source tree with arch/powerpc/kvm`);
  return v;
}

/**
 * The upstream version a distro kernel was built from, when its release string hides it:
 * Debian's `uname -r` is "6.1.0-50-powerpc64le" but `uname -v` says "… Debian 6.1.176-1 (…)".
 */
export function upstreamVersionFromUnameV(unameV: string): [number, number, number] | undefined {
  const m = /Debian (\d+\.\d+(?:\.\d+)?)/.exec(unameV);
  return m ? kernelVersion(m[1]!) : undefined;
}

/** exact: a module for that very kernel; series: a new kernel from the same X.Y series (any sublevel). */
export type SourceMatch = 'exact' | 'series';

/**
 * A module must be built from the source its kernel was built from. Major.minor must match; the
 * sublevel must too, unless the release hides it (Debian/Ubuntu ABI names end in .0) and no
 * upstream version is known. Returns a warning when the match could not be made exact.
 */
export function checkSourceMatches(tree: KernelTreeVersion, release: string, upstream?: readonly number[], match: SourceMatch = 'exact'): string | undefined {
  const rel = kernelVersion(release);
  if (!rel) throw new UserError(`"${release}" does not start with a kernel version number`);
  const want = upstream ?? rel;
  const sublevelUnchecked = match === 'series' || (!upstream && rel[2] === 0 && /^\d+\.\d+\.0-\d+/.test(release));
  const mismatch =
    compareVersions(tree.version.slice(0, 2), want.slice(0, 2)) !== 0 || (!sublevelUnchecked && compareVersions(tree.version, want) !== 0);
  if (mismatch) {
    throw new UserError(
      `wrong kernel source: the tree is Linux ${tree.text} but the target kernel ${release} is ${want.join('.')}.\n` +
        (match === 'exact'
          ? 'A module built from other source may not load, or may crash the kernel. Give the matching source with --kernel-src.'
          : `The running configuration is for ${want.slice(0, 2).join('.')}: give that series' source with --kernel-src.`),
    );
  }
  if (match === 'series') return undefined;
  return sublevelUnchecked ? `cannot tell the exact upstream version of ${release}; using Linux ${tree.text} source (same ${tree.version.slice(0, 2).join('.')} series)` : undefined;
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export interface PreparedSource {
  /** A pristine tree: never built in, build trees are linked copies of it. */
  dir: string;
  version: KernelTreeVersion;
  /** Identifies the source in build cache keys. */
  key: string;
  origin: string;
}

const TARBALL = /\.tar(\.(xz|gz|bz2|zst))?$|\.tgz$/;

/** Extract a source tarball once into the cache; later runs reuse the tree. */
export async function extractTarball(tarball: string, cacheDir: string, log: (s: string) => void = () => {}): Promise<PreparedSource> {
  const hash = (await sha256File(tarball)).slice(0, 12);
  const key = `${basename(tarball).replace(TARBALL, '')}-${hash}`;
  const dest = join(cacheDir, 'sources', key);
  const marker = join(cacheDir, 'sources', `${key}.complete`);
  if (!(await isDir(dest)) || !(await exists(marker))) {
    log(`extracting ${tarball} into ${dest}`);
    const staging = `${dest}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await rm(dest, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const { execa } = await import('execa');
    const r = await execa('tar', ['-xf', tarball, '-C', staging], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      await rm(staging, { recursive: true, force: true });
      throw new UserError(`cannot extract ${tarball}: ${String(r.stderr).trim().split('\n')[0] ?? ''}`);
    }
    const top = await readdir(staging);
    const root = top.length === 1 && (await isDir(join(staging, top[0]!))) ? join(staging, top[0]!) : staging;
    await rename(root, dest);
    await rm(staging, { recursive: true, force: true });
    await writeFile(marker, `${tarball}\n`);
  }
  return { dir: dest, version: await treeVersion(dest), key, origin: tarball };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface SourceOptions {
  /** --kernel-src: a tree or a tarball. */
  kernelSrc?: string;
  release: string;
  cacheDir: string;
  /** The build machine's distribution: where its kernel source package leaves the tarball. */
  distro: Distro;
  /** The exact upstream version, when known (e.g. from `uname -v` on Debian). */
  upstream?: readonly number[];
  match?: SourceMatch;
  log?: (s: string) => void;
}

/** The source for `release`: --kernel-src, else the distro's source package; checked against the release. */
export async function prepareSource(opts: SourceOptions): Promise<PreparedSource & { warning?: string }> {
  let src: PreparedSource;
  if (opts.kernelSrc) {
    const path = resolve(opts.kernelSrc);
    if (await isDir(path)) src = { dir: path, version: await treeVersion(path), key: `dir-${path.replace(/[^\w.-]+/g, '_')}`, origin: path };
    else if (TARBALL.test(path) && (await exists(path))) src = await extractTarball(path, opts.cacheDir, opts.log);
    else throw new UserError(`--kernel-src ${opts.kernelSrc}: not a directory or a .tar[.xz|.gz|.bz2] file`);
  } else {
    const candidates = sourceTarballs(opts.distro, opts.release);
    let found: string | undefined;
    for (const c of candidates) if (await exists(c)) found = found ?? c;
    if (!found) {
      const pkg = sourcePackage(opts.distro, opts.release);
      const hint = pkg ? installHint(opts.distro, [pkg]) : undefined;
      const looked = candidates.length ? `looked for ${candidates.join(', ')}` : opts.distro.kernelSource === 'kernel.org only' ? `talos-mac knows no kernel source package of ${opts.distro.name}` : 'looked for nothing: release has no version';
      throw new UserError(
        `no kernel source for ${opts.release} found (${looked}).\n` +
          `${hint ? `Install it (${hint}), or pass` : 'Pass'} --kernel-src DIR|TARBALL ` +
          `(a kernel.org tarball: talos-mac kernel fetch-source VERSION).`,
      );
    }
    src = await extractTarball(found, opts.cacheDir, opts.log);
  }
  const warning = checkSourceMatches(src.version, opts.release, opts.upstream, opts.match);
  return warning ? { ...src, warning } : src;
}

/** kernel.org publishes sha256sums.asc beside the tarballs: "<sha256>  linux-X.Y.Z.tar.xz". */
export function kernelOrgUrls(version: string): { tarball: string; sums: string; file: string } {
  const major = version.split('.')[0];
  const file = `linux-${version}.tar.xz`;
  const base = `https://cdn.kernel.org/pub/linux/kernel/v${major}.x`;
  return { tarball: `${base}/${file}`, sums: `${base}/sha256sums.asc`, file };
}

export function checksumFor(sums: string, file: string): string | undefined {
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64})\s+(\S+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1];
  }
  return undefined;
}

/**
 * Download a kernel.org tarball into the cache and verify its SHA-256 against kernel.org's list.
 * (The list's PGP signature is not checked: that needs gpg and the kernel.org keys.)
 */
export async function fetchKernelOrg(version: string, cacheDir: string, log: (s: string) => void = () => {}): Promise<string> {
  if (!/^\d+\.\d+(\.\d+)?$/.test(version)) throw new UserError(`"${version}" is not a kernel version like 6.1.176`);
  const { tarball, sums, file } = kernelOrgUrls(version);
  const dir = join(cacheDir, 'downloads');
  const dest = join(dir, file);
  await mkdir(dir, { recursive: true });
  const sumsRes = await fetch(sums);
  if (!sumsRes.ok) throw new UserError(`cannot download ${sums}: HTTP ${sumsRes.status}`);
  const expected = checksumFor(await sumsRes.text(), file);
  if (!expected) throw new UserError(`${sums} lists no ${file}: is ${version} a released kernel?`);
  if ((await exists(dest)) && (await sha256File(dest)) === expected) return dest;
  log(`downloading ${tarball}`);
  const res = await fetch(tarball);
  if (!res.ok || !res.body) throw new UserError(`cannot download ${tarball}: HTTP ${res.status}`);
  const partial = `${dest}.partial-${process.pid}`;
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(partial));
  const got = await sha256File(partial);
  if (got !== expected) {
    await rm(partial, { force: true });
    throw new UserError(`checksum mismatch for ${file}: expected ${expected}, got ${got} (download removed)`);
  }
  await rename(partial, dest);
  return dest;
}
