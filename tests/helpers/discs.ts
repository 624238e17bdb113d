import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { HFS_FIXTURES, writeHfsFixture } from './hfs-fixture.js';

/** The discs a person may hand talos-mac, each made here by the real tools (issue 23's doors). */
export interface Discs {
  /** An ISO 9660 PC disc: xorriso -as mkisofs of a plain folder. */
  pc: string;
  /** A Mac data disc: HFS+ with an Apple partition map, nothing blessed (xorriso -hfsplus). */
  hfsPlusData: string;
  /** A classic HFS volume named "Mac OS 9.2.2", nothing blessed (hformat, tests/fixtures/hfs/). */
  hfsData: string;
  /** Random bytes. */
  random: string;
  /** A real PowerPC Mac boot disc: the demo CD (blessed HFS+ with a CHRP boot script; src/demo/image.ts). */
  bootable: string;
}

export async function makeDiscs(dir: string): Promise<Discs> {
  await mkdir(join(dir, 'pc tree'), { recursive: true });
  await writeFile(join(dir, 'pc tree', 'SETUP.EXE'), 'MZ not really\n');
  const pc = join(dir, 'pc disc.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'PC_DISC', '-o', pc, join(dir, 'pc tree')], { stdio: 'ignore' });
  await mkdir(join(dir, 'data tree'), { recursive: true });
  await writeFile(join(dir, 'data tree', 'photo.jpg'), 'not really');
  const hfsPlusData = join(dir, 'photos.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '2048', '-V', 'Photos', '-o', hfsPlusData, join(dir, 'data tree')], { stdio: 'ignore' });
  const hfsData = join(dir, 'os922.hfs');
  writeHfsFixture(HFS_FIXTURES.macOs922, hfsData);
  const random = join(dir, 'random.iso');
  await writeFile(random, execFileSync('head', ['-c', '300000', '/dev/urandom']));
  await mkdir(join(dir, 'boot'), { recursive: true });
  const bootable = await buildBootImage(new LiveHost(), join(dir, 'boot'), 'cd', 'TEST-INSTALL');
  return { pc, hfsPlusData, hfsData, random, bootable };
}

/** The discs that are not PowerPC Mac boot discs, each with the words the refusal says of it. */
export const NOT_BOOT_DISCS: ReadonlyArray<[keyof Discs, string, RegExp]> = [
  ['pc', 'a PC ISO', /not a PowerPC Mac boot disc — it is an ISO 9660 disc without an Apple partition map or HFS volume/],
  ['hfsPlusData', 'an HFS+ data disc', /not a PowerPC Mac boot disc: a Mac volume with no blessed System folder/],
  ['hfsData', 'a classic HFS data volume', /not a PowerPC Mac boot disc: a Mac volume with no blessed System folder/],
  ['random', 'random bytes', /not a PowerPC Mac boot disc — it has no Apple partition map/],
];
