import { access, copyFile, link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { distroOfHost, installAdvice, qemuPackage } from '../distro/distro.js';
import { sha256 } from '../privileged/sha256.js';

export const DEMO_MARKER = 'TALOS-MAC-DEMO';

/**
 * A CHRP boot script: OpenBIOS runs it when it is the blessed `tbxi` file of an HFS+ volume
 * with an Apple partition map (seen in tests/demo/demo.test.ts, which boots it under TCG). `&device;` expands to
 * the device it booted from.
 */
export function bootScript(marker: string, then = 'power-off'): string {
  return [
    '<CHRP-BOOT>',
    '<COMPATIBLE>',
    'MacRISC MacRISC3 MacRISC4',
    '</COMPATIBLE>',
    '<DESCRIPTION>',
    'talos-mac demo',
    '</DESCRIPTION>',
    '<BOOT-SCRIPT>',
    `." ${marker} booted from &device;" cr`,
    then,
    '</BOOT-SCRIPT>',
    '</CHRP-BOOT>',
    '',
  ].join('\n');
}

export function bootedFrom(console: string, marker = DEMO_MARKER): string | undefined {
  return new RegExp(`${marker} booted from (\\S+)`).exec(console)?.[1];
}

async function run(host: Host, argv: string[], what: string): Promise<void> {
  const r = await host.run(argv, { timeoutMs: 60_000 });
  if (r.exitCode === 0) return;
  const d = r.notFound ? await distroOfHost(host) : undefined;
  const hint = d ? ` ${installAdvice(d, argv[0] === 'xorriso' ? d.names.xorriso : qemuPackage(d, 'qemu-img'), argv[0]!)}.` : '';
  throw new UserError(`could not build the ${what}: ${describeCommandFailure(r)}.${hint}`, 1);
}

/**
 * Builds a tiny bootable mac99 image in `dir` with xorriso: `disk` → a qcow2 hard disk
 * (512-byte partition map blocks), `raw-disk` → the same disk left raw (no qemu-img, here or at
 * launch: a raw disk has no backing file to check), `cd` → an ISO for -cdrom (2048-byte blocks).
 * Returns its path.
 */
/**
 * `then`: the Forth the boot script runs after its marker (tests: `reset-all`, or nothing to stay at the prompt).
 * `files`: more files for the volume's root, name → path here (the test guest's CD carries its kernel).
 */
export async function buildBootImage(host: Host, dir: string, kind: 'disk' | 'raw-disk' | 'cd', marker = DEMO_MARKER, then?: string, files: Readonly<Record<string, string>> = {}): Promise<string> {
  const tree = join(dir, `${kind}-tree`);
  await mkdir(join(tree, 'System'), { recursive: true });
  await writeFile(join(tree, 'System', 'Boot'), bootScript(marker, then));
  for (const [name, from] of Object.entries(files)) await copyFile(from, join(tree, name));
  const raw = join(dir, kind === 'cd' ? 'boot-cd.iso' : 'boot-disk.img');
  await run(
    host,
    ['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-hfsplus', '-apm-block-size', kind === 'cd' ? '2048' : '512',
      '-hfsplus-file-creator-type', 'chrp', 'tbxi', '/System/Boot', '-hfs-bless-by', 'p', '/System', '-V', marker.slice(0, 32), '-o', raw, tree],
    `${kind === 'cd' ? 'CD' : 'disk'} image with xorriso`,
  );
  await rm(tree, { recursive: true, force: true });
  if (kind !== 'disk') return raw;
  const qcow2 = join(dir, 'boot-disk.qcow2');
  await run(host, ['qemu-img', 'convert', '-q', '-O', 'qcow2', raw, qcow2], 'disk image with qemu-img');
  await rm(raw, { force: true });
  return qcow2;
}

/**
 * The demo disk (`then`: as buildBootImage's), built on first use into the cache and reused: its name carries a hash of the
 * boot script, so a new talos-mac with a new script builds a new one. Published with link(2),
 * so concurrent first runs never replace each other's file.
 */
export async function cachedDemoDisk(host: Host, cacheDir: string, then?: string): Promise<string> {
  const id = sha256(bootScript(DEMO_MARKER, then) + 'disk-512-raw-v2').slice(0, 12);
  const path = join(cacheDir, `demo-disk-${id}.img`);
  try {
    await access(path);
    return path;
  } catch {
    /* build it */
  }
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, '.build-'));
  try {
    await link(await buildBootImage(host, work, 'raw-disk', DEMO_MARKER, then), path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return path;
}
