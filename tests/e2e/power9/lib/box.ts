// One boot of the POWER9 box: the initramfs (the cached userland and kernel archives, then this
// boot's: the CLI, /init, the scenario, the host's persistent root), QEMU bounded in time, and the
// framed results parsed and checked.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, log } from './cache.js';
import { gzipCpio, treeEntries, type CpioEntry } from './cpio.js';
import type { BootKernel } from './debian-kernel.js';
import { doneLine, emitFunction, newNonce, parseFramed } from './framing.js';
import { PERSISTED, type PersistentRoot } from './persistent-root.js';
import { bootPowerNV } from './qemu.js';
import type { Userland } from './userland.js';

/** The repository root, from dist/tests/e2e/power9/lib/box.js. */
export const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));

/** Single-quotes a word for the box's sh. */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A script line that runs argv and keeps its stdout, stderr and exit code as results NAME.{stdout,stderr,code}. */
export const cmd = (name: string, argv: readonly string[]): string => `run ${shq(name)} ${argv.map(shq).join(' ')}`;

/** A script line that sends directory DIR back as result NAME (a .tar.gz). */
export const sendDir = (name: string, dir: string): string => `[ -d ${shq(dir)} ] && tar -czf /box/out/${name} -C ${shq(dir)} .`;

function initScript(nonce: string): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /box/out
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs tmp /tmp
/bin/busybox mount -t tmpfs run /run
echo 0 > /proc/sys/kernel/printk
# Links only where the packages put no program: kmod's modprobe, not busybox's.
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
exec 0</dev/null
cd /
[ -f /box/persist.tar.gz ] && tar -xzpf /box/persist.tar.gz -C /
# kmod's depmod by path: busybox sh runs its own applets first, and busybox depmod writes no
# modules.dep.bin, which kmod's modprobe (the one talos-mac runs, as on a Debian host) needs.
/sbin/depmod -a "$(uname -r)" > /box/out/depmod.log 2>&1
up() { cut -d' ' -f1 /proc/uptime; }
run() { n=$1; shift; t=$(up); "$@" > "/box/out/$n.stdout" 2> "/box/out/$n.stderr"; echo $? > "/box/out/$n.code"; echo "$t $(up)" > "/box/out/$n.uptime"; }
${emitFunction(nonce)}
start=$(up)
. /box/scenario.sh
echo "$start $(up)" > /box/out/uptime
keep=""
for p in ${PERSISTED.join(' ')}; do [ -e "/$p" ] && keep="$keep $p"; done
tar -czf /box/out/persist.tar.gz -C / $keep
for f in /box/out/*; do emit "$f" "$(basename "$f")"; done
echo "${doneLine(nonce)}"
sync
poweroff -f
`;
}

async function cliEntries(): Promise<CpioEntry[]> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'entry.js'))) throw new Error('dist/cli is missing: npm run build');
  const skip = (e: CpioEntry) => e.path.endsWith('.map') || e.path.endsWith('meta.json');
  return [
    ...(await treeEntries(join(REPO, 'bin'), 'opt/talos-mac/bin')),
    ...(await treeEntries(join(REPO, 'dist', 'cli'), 'opt/talos-mac/dist/cli')).filter((e) => !skip(e)),
    { path: 'opt/talos-mac/package.json', type: 'file', data: await readFile(join(REPO, 'package.json')) },
    { path: 'usr/local/bin/talos-mac', type: 'symlink', target: '/opt/talos-mac/bin/talos-mac.js' },
  ];
}

/**
 * Where the box's copy of the CLI bundle holds the chunk exporting NAME (esbuild keeps the
 * source's export names on shared chunks; dist/cli/meta.json says which chunk has which), for box
 * scripts that drive talos-mac's own modules (e.g. the PrivilegedRunner).
 */
export async function boxChunk(name: string): Promise<string> {
  const meta = JSON.parse(await readFile(join(REPO, 'dist', 'cli', 'meta.json'), 'utf8')) as { outputs: Record<string, { exports: string[]; entryPoint?: string }> };
  const found = Object.entries(meta.outputs).filter(([out, o]) => out.endsWith('.js') && !o.entryPoint && o.exports.includes(name)).map(([out]) => out);
  if (found.length !== 1) throw new Error(`dist/cli/meta.json: ${found.length} chunks export ${name} (${found.join(', ')})`);
  return `/opt/talos-mac/${found[0]}`;
}

/**
 * The kernel's archive: its modules and /boot/config-RELEASE, or only /usr/lib/modules/RELEASE/config
 * for Debian 14's split packages (cached by kernel). Over a merged-/usr userland its lib/ goes to
 * usr/lib/, where dpkg would put it through the /lib link (a lib/ directory in a later archive
 * replaces the link: seen in the box).
 */
async function kernelArchive(k: BootKernel, mergedUsr: boolean): Promise<string> {
  // Keyed by what goes in, not only by name: a rebuilt kernel in the same build directory
  // (same path, new modules) once booted a stale archive whose modules no longer matched.
  const stamp = async (p: string): Promise<string> => (existsSync(p) ? `${(await stat(p)).size}:${(await stat(p)).mtimeMs}` : '-');
  const key = createHash('sha256')
    .update(k.origin).update(k.vmlinux).update(await stamp(k.vmlinux)).update(await readFile(k.config))
    .update(await stamp(join(k.modulesRoot, 'lib', 'modules', k.release, 'modules.dep')))
    .update(await stamp(join(k.modulesRoot, 'usr', 'lib', 'modules', k.release, 'modules.dep')))
    .digest('hex').slice(0, 16);
  const out = join(cacheRoot(), 'initramfs', `kernel-${k.release}-${key}${mergedUsr ? '-usr' : ''}.cpio.gz`);
  if (existsSync(out)) return out;
  await mkdir(join(cacheRoot(), 'initramfs'), { recursive: true });
  const entries: CpioEntry[] = k.configOnlyInModules ? [] : [{ path: `boot/config-${k.release}`, type: 'file', data: await readFile(k.config) }];
  for (const top of ['lib', 'usr']) if (existsSync(join(k.modulesRoot, top))) entries.push(...(await treeEntries(join(k.modulesRoot, top), mergedUsr && top === 'lib' ? 'usr/lib' : top)));
  // A merged-/usr system (Debian 13) finds /usr/lib/modules at /lib/modules too; the bookworm userland's kmod looks there.
  if (!mergedUsr && !existsSync(join(k.modulesRoot, 'lib', 'modules', k.release)) && existsSync(join(k.modulesRoot, 'usr', 'lib', 'modules', k.release))) {
    entries.push({ path: `lib/modules/${k.release}`, type: 'symlink', target: `/usr/lib/modules/${k.release}` });
  }
  const stale = (await readdir(join(cacheRoot(), 'initramfs'))).filter((f) => f.startsWith(`kernel-${k.release}-`) && f.endsWith(`${mergedUsr ? '-usr' : ''}.cpio.gz`) && !f.includes(key) && (mergedUsr || !f.endsWith('-usr.cpio.gz')));
  await writeFile(out, gzipCpio(entries));
  for (const f of stale) await rm(join(cacheRoot(), 'initramfs', f), { force: true });
  return out;
}

export interface BoxBoot {
  kernel: BootKernel;
  userland: Userland;
  root: PersistentRoot;
  /** Kernel command line after `console=hvc0 quiet loglevel=0` (e.g. `disable_radix`). */
  cmdline?: string;
  /** sh lines run by /init (see cmd, sendDir); their results come back by name. */
  script: string[];
  /** Files this boot adds to the root, overriding the userland's (e.g. the suite's os-release). */
  files?: CpioEntry[];
  timeoutMs?: number;
  label: string;
}

export class BoxResults {
  constructor(readonly results: Map<string, Buffer>, readonly console: string) {}

  get(name: string): Buffer {
    const r = this.results.get(name);
    if (!r) throw new Error(`the box sent no result ${name} (it sent: ${[...this.results.keys()].join(', ')})`);
    return r;
  }

  text(name: string): string {
    return this.get(name).toString('utf8');
  }

  /** What cmd(name, …) ran: exit code, stdout, stderr. */
  command(name: string): { code: number; stdout: string; stderr: string } {
    return { code: Number(this.text(`${name}.code`).trim()), stdout: this.text(`${name}.stdout`), stderr: this.text(`${name}.stderr`) };
  }

  json<T = unknown>(name: string): T {
    return JSON.parse(this.command(name).stdout) as T;
  }
}

export async function bootBox(b: BoxBoot): Promise<BoxResults> {
  const nonce = newNonce();
  const work = await mkdtemp(join(tmpdir(), 'talos-mac-box-'));
  try {
    const boot = gzipCpio([
      ...(b.files ?? []),
      ...(await cliEntries()),
      ...(await b.root.entries()),
      { path: 'init', type: 'file', data: initScript(nonce), mode: 0o755 },
      { path: 'box/scenario.sh', type: 'file', data: b.script.join('\n') + '\n' },
    ]);
    const initrd = join(work, 'initrd.cpio.gz');
    // Concatenated archives: the kernel unpacks each in turn, later files replacing earlier ones.
    await writeFile(initrd, Buffer.concat([await readFile(b.userland.cpioGz), await readFile(await kernelArchive(b.kernel, b.userland.mergedUsr)), boot]));
    const verbose = process.env.TALOS_E2E_VERBOSE === '1';
    const append = `console=hvc0 quiet loglevel=0${b.cmdline ? ` ${b.cmdline}` : ''}`;
    const r = await bootPowerNV({
      vmlinux: b.kernel.vmlinux,
      initrd,
      append,
      timeoutMs: b.timeoutMs ?? Number(process.env.TALOS_E2E_BOOT_TIMEOUT_MS ?? 300_000),
      doneMarker: doneLine(nonce),
      onOutput: verbose ? (s) => process.stderr.write(s) : undefined,
    });
    const tail = () => r.console.split('\n').slice(-40).join('\n');
    if (r.timedOut) throw new Error(`${b.label}: the box did not power off within its time limit and was killed; console tail:\n${tail()}`);
    const keep = join(cacheRoot(), 'results', b.label.replace(/[^a-z0-9.-]+/gi, '_'));
    await rm(keep, { recursive: true, force: true });
    await mkdir(keep, { recursive: true });
    await writeFile(join(keep, 'console.log'), r.console);
    const framed = parseFramed(r.console, nonce);
    if (!framed.done) throw new Error(`${b.label}: the box ended (QEMU exit ${r.code}) before sending all results; console tail:\n${tail()}`);
    const uptime = framed.results.get('uptime')?.toString().trim().split(' ').map(Number);
    log(`${b.label}: ${b.kernel.release} [${append}] boot ${r.seconds.toFixed(1)} s (QEMU CPU ${r.cpuSeconds.toFixed(1)} s)` + (uptime ? ` (scenario ${(uptime[1]! - uptime[0]!).toFixed(1)} s of it)` : '') +
      (framed.repaired ? `; ${framed.repaired} console line(s) damaged by other output, taken from the second copy` : ''));
    // Kept for reading after a failure: the last boot of each label, its console and every result.
    for (const [name, data] of framed.results) await writeFile(join(keep, name), data);
    const persist = framed.results.get('persist.tar.gz');
    if (persist) await b.root.save(persist);
    return new BoxResults(framed.results, r.console);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
