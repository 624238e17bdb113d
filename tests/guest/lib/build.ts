// The test guest: a 32-bit PowerPC kernel from Debian's linux-source-6.1 (pmac32_defconfig reduced
// by tests/guest/kernel.config) with tests/guest/init.c as its initramfs's /init. Cached by input
// under $TALOS_GUEST_CACHE (else ~/.cache/talos-mac-guest): kernel-KEY/ keeps the build tree
// (KEY: the source tarball, kernel.config and build-kernel.sh), vmlinux-INIT is the kernel with
// one init built in (a new init only relinks).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildBootImage } from '../../../src/demo/image.js';
import { LiveHost } from '../../../src/host/live-host.js';
import { REPO } from '../../helpers/cli.js';

const run = promisify(execFile);

export const GUEST_DIR = join(REPO, 'tests', 'guest');
export const KERNEL_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
export const CROSS_GCC = 'powerpc-linux-gnu-gcc';

export function guestCache(): string {
  if (process.env['TALOS_GUEST_CACHE']) return process.env['TALOS_GUEST_CACHE'];
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'talos-mac-guest');
}

export function log(message: string): void {
  process.stderr.write(`[guest] ${message}\n`);
}

/** What is missing to build the guest here (Debian packages), or [] when it can be built. */
export async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  if (!existsSync(KERNEL_TARBALL)) missing.push('linux-source-6.1');
  const probe = async (argv: string[]) => run(argv[0]!, argv.slice(1)).then(() => true, () => false);
  if (!(await probe([CROSS_GCC, '--version']))) missing.push('gcc-powerpc-linux-gnu');
  // The static libc: libc6-dev-powerpc-cross puts it under /usr/powerpc-linux-gnu/lib.
  if (!existsSync('/usr/powerpc-linux-gnu/lib/libc.a')) missing.push('libc6-dev-powerpc-cross');
  for (const [tool, pkg] of [['make', 'make'], ['flex', 'flex'], ['bison', 'bison'], ['bc', 'bc'], ['xorriso', 'xorriso'], ['socat', 'socat']] as const) {
    if (!(await probe(['sh', '-c', `command -v ${tool}`]))) missing.push(pkg);
  }
  return missing;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function kernelKey(): Promise<string> {
  const h = createHash('sha256');
  h.update(await sha256File(KERNEL_TARBALL));
  for (const f of ['kernel.config', 'build-kernel.sh']) h.update(f).update(await readFile(join(GUEST_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

export interface GuestKernel {
  vmlinux: string;
  /** Seconds spent building now (0 when everything came from the cache). */
  kernelBuildS: number;
  cached: boolean;
}

/** The init, static, for 32-bit PowerPC (big-endian). Returns its path in `dir`. */
export async function buildInit(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const out = join(dir, 'init');
  await run(CROSS_GCC, ['-static', '-Os', '-Wall', '-Werror', '-s', '-o', `${out}.tmp`, join(GUEST_DIR, 'init.c')]);
  await rename(`${out}.tmp`, out);
  return out;
}

/** Whether the kernel tree for the current inputs is built (a new init then only relinks). */
export async function kernelCached(): Promise<boolean> {
  return existsSync(join(guestCache(), `kernel-${await kernelKey()}`, 'out', 'vmlinux'));
}

/** The kernel with the current init built in: from the cache, else built (cold: minutes). */
export async function guestKernel(): Promise<GuestKernel> {
  const key = await kernelKey();
  await mkdir(join(guestCache(), `kernel-${key}`), { recursive: true });
  // kbuild records absolute paths (srctree is not objtree's parent): always the same spelling.
  const dir = await realpath(join(guestCache(), `kernel-${key}`));
  const initBuild = join(guestCache(), 'init-build');
  const init = await buildInit(initBuild);
  const initHash = (await sha256File(init)).slice(0, 16);
  const vmlinux = join(dir, `vmlinux-${initHash}`);
  if (existsSync(vmlinux)) return { vmlinux, kernelBuildS: 0, cached: true };
  // The initramfs list names a fixed path: kbuild relinks when that file's content changes.
  await mkdir(join(dir, 'initramfs'), { recursive: true });
  await copyFile(init, join(dir, 'initramfs', 'init'));
  const list = join(dir, 'initramfs.list');
  await writeFile(list, ['dir /dev 0755 0 0', 'nod /dev/console 0600 0 0 c 5 1', 'dir /proc 0755 0 0', 'dir /sys 0755 0 0', 'dir /mnt 0755 0 0', `file /init ${join(dir, 'initramfs', 'init')} 0755 0 0`, ''].join('\n'));
  const t0 = Date.now();
  log(`building the guest kernel in ${dir} (cold: several minutes on 2 cores)`);
  try {
    await run(join(GUEST_DIR, 'build-kernel.sh'), [KERNEL_TARBALL, join(GUEST_DIR, 'kernel.config'), list, dir], { maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`the guest kernel did not build: ${err.message}\n${(err.stderr ?? '').split('\n').slice(-30).join('\n')}`);
  }
  const kernelBuildS = (Date.now() - t0) / 1000;
  log(`guest kernel built in ${kernelBuildS.toFixed(0)} s`);
  await rename(join(dir, 'vmlinux'), vmlinux);
  return { vmlinux, kernelBuildS, cached: false };
}

/**
 * The guest's command line for a profile run: report with `nonce`, reset once (talos.reboot), stay
 * up after the second report (talos.stay, for screenshot and stop), PUT and GET at `share` (tests/guest/init.c).
 */
export const profileCmdline = (nonce: string, share: string): string => `console=tty0 console=ttyS0 ip=dhcp talos.nonce=${nonce} talos.reboot=1 talos.stay=1 talos.share=${share}`;

/** The guest's boot CD in `dir`, as an install disc boots: OpenBIOS loads its vmlinux with `cmdline`. */
export async function guestCd(dir: string, vmlinux: string, cmdline: string): Promise<string> {
  return buildBootImage(new LiveHost(), dir, 'cd', 'TALOS-GUEST', `boot &device;:,\\vmlinux ${cmdline}`, { vmlinux });
}
