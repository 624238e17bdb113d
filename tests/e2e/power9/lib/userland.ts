// The box's userland: Debian's ppc64el Node, QEMU (with seabios, ipxe-qemu and qemu-system-data),
// kmod, busybox-static, dpkg and apt, unpacked from the dependency closure of those packages
// (resolved against an empty dpkg status) and packed once into a gzip'd cpio that every boot reuses.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PpcArchive, type Suite } from './apt.js';
import { cacheRoot, log, timed } from './cache.js';
import { gzipCpio, treeEntries } from './cpio.js';
import { unpackDeb, unpackDebMembers } from './deb.js';
import { run } from './run.js';

// qemu-utils: doctor checks for qemu-img, and a host that runs guests has it. bash (essential on
// Debian): setup sources /etc/default/grub with it before editing the file. util-linux (essential
// too): launch runs QEMU under its flock. dpkg and apt: the runner installs kernel packages with
// apt-get, and setup --undo removes them with it; libc-bin (essential): dpkg refuses to run
// without its ldconfig on PATH ("dpkg: error: 1 expected program not found in PATH").
export const USERLAND_PACKAGES = ['nodejs', 'qemu-system-ppc', 'qemu-utils', 'seabios', 'ipxe-qemu', 'kmod', 'xorriso', '7zip', 'busybox-static', 'bash', 'util-linux', 'dpkg', 'apt', 'libc-bin'] as const;
const BUILDER_VERSION = '1';
/** Not needed in the box, and a third of the unpacked size. */
const DROP = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/bug'];

/**
 * The aliasing links of a merged-/usr system, as Debian 13's base-files ships them (relative;
 * lintian's aliased-location tag: "Since Debian Trixie, the base-files package sets up symbolic
 * links such as /bin pointing to usr/bin"; ppc64el's loader is /lib64/ld64.so.2). This mirror
 * answers 404 for trixie's base-files, so they are made here; Debian 12's packages still ship /bin.
 */
const MERGED_USR: ReadonlyArray<readonly [string, string]> = [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']];
const mergedUsr = (suite: Suite): boolean => suite !== 'bookworm';

/** Moves what a package still put under an alias into its /usr directory, then links the alias. */
async function mergeUsr(tree: string): Promise<void> {
  for (const [alias, target] of MERGED_USR) {
    const at = join(tree, alias);
    await mkdir(join(tree, target), { recursive: true });
    const st = await lstat(at).catch(() => undefined);
    if (st?.isDirectory()) {
      await run(['cp', '-a', `${at}/.`, join(tree, target)]);
      await rm(at, { recursive: true });
    }
    if (!st?.isSymbolicLink()) await symlink(target, at);
  }
}

async function cachedList(file: string, make: () => Promise<string[]>): Promise<string[]> {
  if (existsSync(file)) {
    const list = JSON.parse(await readFile(file, 'utf8')) as string[];
    if (list.every((f) => existsSync(f))) return list;
  }
  const list = await make();
  await writeFile(file, JSON.stringify(list, null, 2));
  return list;
}

export interface Userland {
  suite: Suite;
  /** The packed userland, the first archive of every initramfs. */
  cpioGz: string;
  /** Its unpacked tree (read-only use: e.g. the suite's /usr/lib/os-release). */
  tree: string;
  debs: string[];
  /** /bin, /sbin, /lib, /lib64 are links into /usr (Debian 13 and later). */
  mergedUsr: boolean;
}

/**
 * A suite's closure. For Debian 13 this mirror lists packages it answers 404 for (ppc64el libc6,
 * nodejs 20 and libnode115, a dozen libraries: seen 2026-12-07): those come from Debian unstable
 * (the same package names, newer versions of the same sonames), and nodejs with its own closure
 * there (unstable has no libnode115); unpacked after the suite's, so they replace its copies. Said in the log.
 */
const FROM_SID = 'debs-from-sid';

async function closureOf(suite: Suite, root: string): Promise<string[]> {
  const got = await new PpcArchive(suite).downloadClosureWithGaps(USERLAND_PACKAGES, join(root, 'debs'));
  if (!got.missing.length) return got.debs;
  if (suite === 'bookworm' || suite === 'sid') throw new Error(`${suite}: the mirror does not serve ${got.missing.join(', ')}`);
  const sid = new PpcArchive('sid');
  const served: string[] = [];
  // base-files: its os-release would say unstable; the aliasing links are made by mergeUsr.
  for (const name of got.missing) if (name !== 'base-files' && (await sid.cache(['show', '--no-all-versions', name]).catch(() => '')).includes('Package:')) served.push(name);
  const gaps = await sid.downloadClosure(served, join(root, FROM_SID));
  const replaced = new Set(gaps.map((d) => basename(d).split('_')[0]));
  log(`${suite}: the mirror lists but does not serve ${got.missing.join(', ')}`);
  return [...got.debs.filter((d) => !replaced.has(basename(d).split('_')[0])), ...gaps];
}

export async function userland(suite: Suite = 'bookworm'): Promise<Userland> {
  const root = join(cacheRoot(), 'userland', suite);
  await mkdir(root, { recursive: true });
  const closure = `closure-${createHash('sha256').update(USERLAND_PACKAGES.join(' ')).digest('hex').slice(0, 12)}.json`;
  const debs = await cachedList(join(root, closure), () => timed(`${suite} userland download`, () => closureOf(suite, root)));
  const hash = createHash('sha256').update(BUILDER_VERSION).update(debs.map((d) => basename(d)).join('\n'));
  if (mergedUsr(suite)) hash.update('merged-usr');
  const key = hash.digest('hex').slice(0, 16);
  const tree = join(root, `tree-${key}`);
  const cpioGz = join(root, `userland-${key}.cpio.gz`);
  if (!existsSync(cpioGz)) {
    await timed(`${suite} userland unpack + pack (${debs.length} packages)`, async () => {
      await rm(tree, { recursive: true, force: true });
      for (const d of debs) await unpackDeb(d, tree);
      for (const d of DROP) await rm(join(tree, d), { recursive: true, force: true });
      if (mergedUsr(suite)) await mergeUsr(tree);
      await writeFile(cpioGz + '.tmp', gzipCpio(await treeEntries(tree)));
      await rename(cpioGz + '.tmp', cpioGz);
    });
  }
  const version = (pkg: string) => debs.find((d) => basename(d).startsWith(`${pkg}_`))?.match(/_([^_]+)_[^_]+\.deb$/)?.[1];
  const shown = (pkg: string) => (version(pkg) ? decodeURIComponent(version(pkg)!) : '?');
  log(`userland: ${suite}, ${debs.length} packages (node ${shown('nodejs')}, qemu-system-ppc ${shown('qemu-system-ppc')})`);
  const fromSid = debs.filter((d) => basename(dirname(d)) === FROM_SID).map((d) => decodeURIComponent(basename(d)).replace(/_(ppc64el|all)\.deb$/, ''));
  if (fromSid.length) log(`userland: ${fromSid.length} of them from unstable, where the mirror serves none of ${suite}'s: ${fromSid.join(', ')}`);
  return { suite, cpioGz, tree, debs, mergedUsr: mergedUsr(suite) };
}

/** One file from one package of a suite (e.g. Debian's /usr/share/grub/default/grub), cached. */
export async function packageFile(suite: Suite, pkg: string, member: string): Promise<Buffer> {
  const root = join(cacheRoot(), 'files', suite, pkg);
  const out = join(root, 'tree', member);
  if (!existsSync(out)) {
    await mkdir(root, { recursive: true });
    const archive = new PpcArchive(suite);
    const deb = (await archive.downloadNewest(await archive.versions(pkg), root))?.deb;
    if (!deb) throw new Error(`no version of ${pkg} (${suite}) downloads from the mirror`);
    await unpackDebMembers(deb, join(root, 'tree'), [`./${member}`]);
    log(`${suite}: ${basename(deb)} → ${member}`);
  }
  return readFile(out);
}

/**
 * The same version of pkg built for amd64, for a file that is the same text on every architecture
 * (os-release, GRUB's defaults): this mirror serves Debian 13's amd64 base-files but not its
 * ppc64el one. Fetched by the ppc64el file's address with the architecture changed, so its hash
 * is not checked against an index (the ppc64el lists hold none for it).
 */
async function otherArchFile(suite: Suite, pkg: string, member: string): Promise<Buffer | undefined> {
  const root = join(cacheRoot(), 'files', suite, `${pkg}-amd64`);
  const out = join(root, 'tree', member);
  if (!existsSync(out)) {
    const archive = new PpcArchive(suite);
    const v = (await archive.versions(pkg))[0];
    const uri = v && (await archive.uri(`${pkg}=${v.version}`))?.replace(/_ppc64el\.deb$/, '_amd64.deb');
    if (!uri) return undefined;
    const res = await fetch(uri).catch(() => undefined);
    if (!res?.ok) return undefined;
    await mkdir(root, { recursive: true });
    const deb = join(root, decodeURIComponent(basename(new URL(uri).pathname)));
    await writeFile(deb, Buffer.from(await res.arrayBuffer()));
    await unpackDebMembers(deb, join(root, 'tree'), [`./${member}`]);
    log(`${suite}: ${pkg} ${v.version} for ppc64el is not served; ${member} from its amd64 build (${basename(deb)})`);
  }
  return readFile(out);
}

/** packageFile from the suite, else from the same version's amd64 build, else from bookworm (said
 *  in the log): this mirror lists trixie's grub2-common and base-files but answers 404 for them. */
export async function suiteFile(suite: Suite, pkg: string, member: string): Promise<Buffer> {
  const marker = join(cacheRoot(), 'files', suite, pkg, 'use-bookworm');
  if (suite !== 'bookworm' && existsSync(marker)) {
    const other = await otherArchFile(suite, pkg, member);
    if (other) return other;
    log(`${suite}: ${await readFile(marker, 'utf8')}`);
    return packageFile('bookworm', pkg, member);
  }
  try {
    return await packageFile(suite, pkg, member);
  } catch (e) {
    if (suite === 'bookworm') throw e;
    const other = await otherArchFile(suite, pkg, member);
    if (other) return other;
    const why = `${(e as Error).message}; using bookworm's ${member} instead`;
    log(`${suite}: ${why}`);
    await mkdir(join(cacheRoot(), 'files', suite, pkg), { recursive: true });
    await writeFile(marker, why);
    return packageFile('bookworm', pkg, member);
  }
}
