// A host's disk, between boots: what the box's /init tars up from PERSISTED after the scenario
// (sent back framed) is stored here as state.tar.gz and unpacked by the next boot's /init over
// its root, so owners and modes survive exactly as the box wrote them. `view/` is the same
// state unpacked on this side, for the tests to read.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpioEntry } from './cpio.js';
import { run } from './run.js';

/** What setup writes on a real host (its record, the boot loader files, modules-load.d, udev
 *  rules, users and groups, the guest store under home directories). */
export const PERSISTED = [
  'etc/default/grub', 'etc/default/grub.d', 'boot/grub', 'var/lib/talos-mac', 'etc/modules-load.d', 'etc/modprobe.d',
  'etc/udev/rules.d', 'etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow', 'root', 'home',
] as const;

export class PersistentRoot {
  private readonly seeds: CpioEntry[] = [];

  constructor(readonly dir: string) {}

  get stateFile(): string {
    return join(this.dir, 'state.tar.gz');
  }

  get viewDir(): string {
    return join(this.dir, 'view');
  }

  /** A file present on the first boot (e.g. Debian's /etc/default/grub). */
  seed(path: string, data: Buffer | string, meta: { mode?: number; uid?: number; gid?: number } = {}): this {
    this.seeds.push({ path: path.replace(/^\/+/, ''), type: 'file', data, ...meta });
    return this;
  }

  /** Forget every boot so far (the next boot starts from the seeds). */
  async reset(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /** What goes into the next boot's initramfs: the state, or on a first boot the seeds. */
  async entries(): Promise<CpioEntry[]> {
    if (existsSync(this.stateFile)) return [{ path: 'box/persist.tar.gz', type: 'file', data: await readFile(this.stateFile) }];
    return this.seeds;
  }

  async save(tarGz: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.stateFile, tarGz);
    await rm(this.viewDir, { recursive: true, force: true });
    await mkdir(this.viewDir, { recursive: true });
    await run(['tar', '-xzf', this.stateFile, '-C', this.viewDir, '--no-same-owner']);
  }

  /** A file as the last boot left it (undefined if it does not exist). */
  async read(path: string): Promise<string | undefined> {
    const f = join(this.viewDir, path.replace(/^\/+/, ''));
    return existsSync(f) ? readFile(f, 'utf8') : undefined;
  }
}
