// The box's userland: Debian's ppc64el Node, QEMU (with seabios, ipxe-qemu and qemu-system-data),
// kmod, busybox-static, dpkg and apt, unpacked from the dependency closure of those packages
// (resolved against an empty dpkg status) and packed once into a gzip'd cpio that every boot reuses.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PpcArchive, type Suite } from './apt.js';
import { cacheRoot, log, timed } from './cache.js';
import { gzipCpio, treeEntries } from './cpio.js';
import { unpackDeb, unpackDebMembers } from './deb.js';

// qemu-utils: doctor checks for qemu-img, and a host that runs guests has it. bash (essential on
// Debian): setup sources /etc/default/grub with it before editing the file. util-linux (essential
// too): launch runs QEMU under its flock. dpkg and apt: the runner installs kernel packages with
// apt-get, and setup --undo removes them with it; libc-bin (essential): dpkg refuses to run
// without its ldconfig on PATH ("dpkg: error: 1 expected program not found in PATH").
export const USERLAND_PACKAGES = ['nodejs', 'qemu-system-ppc', 'qemu-utils', 'seabios', 'ipxe-qemu', 'kmod', 'xorriso', '7zip', 'busybox-static', 'bash', 'util-linux', 'dpkg', 'apt', 'libc-bin'] as const;
const BUILDER_VERSION = '1';
/** Not needed in the box, and a third of the unpacked size. */
const DROP = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/bug'];

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
}

export async function userland(suite: Suite = 'bookworm'): Promise<Userland> {
  const root = join(cacheRoot(), 'userland', suite);
  await mkdir(root, { recursive: true });
  const closure = `closure-${createHash('sha256').update(USERLAND_PACKAGES.join(' ')).digest('hex').slice(0, 12)}.json`;
  const debs = await cachedList(join(root, closure), async () => {
    const archive = new PpcArchive(suite);
    return timed(`${suite} userland download`, () => archive.downloadClosure(USERLAND_PACKAGES, join(root, 'debs')));
  });
  const key = createHash('sha256').update(BUILDER_VERSION).update(debs.map((d) => basename(d)).join('\n')).digest('hex').slice(0, 16);
  const tree = join(root, `tree-${key}`);
  const cpioGz = join(root, `userland-${key}.cpio.gz`);
  if (!existsSync(cpioGz)) {
    await timed(`${suite} userland unpack + pack (${debs.length} packages)`, async () => {
      await rm(tree, { recursive: true, force: true });
      for (const d of debs) await unpackDeb(d, tree);
      for (const d of DROP) await rm(join(tree, d), { recursive: true, force: true });
      await writeFile(cpioGz + '.tmp', gzipCpio(await treeEntries(tree)));
      await rename(cpioGz + '.tmp', cpioGz);
    });
  }
  log(`userland: ${suite}, ${debs.length} packages (${debs.find((d) => basename(d).startsWith('nodejs_'))?.match(/nodejs_([^_]+)/)?.[1] ?? '?'} node)`);
  return { suite, cpioGz, tree, debs };
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

/** packageFile from the suite, else from bookworm (said in the log): this mirror lists trixie's
 *  grub2-common and base-files but answers 404 for them. */
export async function suiteFile(suite: Suite, pkg: string, member: string): Promise<Buffer> {
  const marker = join(cacheRoot(), 'files', suite, pkg, 'use-bookworm');
  if (suite !== 'bookworm' && existsSync(marker)) {
    log(`${suite}: ${await readFile(marker, 'utf8')}`);
    return packageFile('bookworm', pkg, member);
  }
  try {
    return await packageFile(suite, pkg, member);
  } catch (e) {
    if (suite === 'bookworm') throw e;
    const why = `${(e as Error).message}; using bookworm's ${member} instead`;
    log(`${suite}: ${why}`);
    await mkdir(join(cacheRoot(), 'files', suite, pkg), { recursive: true });
    await writeFile(marker, why);
    return packageFile('bookworm', pkg, member);
  }
}
