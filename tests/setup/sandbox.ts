import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli, SNAPSHOTS, type CliResult } from '../helpers/cli.js';
import { isRoot } from '../helpers/sudo.js';

export const SETUP_FIXTURES = join(REPO, 'tests', 'fixtures', 'setup');
export const FAKEBIN = join(SETUP_FIXTURES, 'fakebin');
export const ALL_TOOLS = ['update-grub', 'grub-mkconfig', 'grub2-mkconfig', 'grub-set-default', 'grubby', 'modprobe', 'usermod', 'gpasswd', 'sudo', 'apt-get', 'dpkg-query'] as const;
export const KVM_GID = 108;

export interface SandboxOptions {
  /** A snapshot under tests/fixtures/snapshots to start from (its /proc, /boot, /lib, uname). */
  snapshot: string;
  /** A file under tests/fixtures/setup/grub to install as /etc/default/grub. */
  grub?: string;
  /** Copy the Fedora-style BootLoaderSpec layout. */
  bls?: boolean;
  /** Replaces /proc/modules. */
  modules?: string;
  /** Fake tools on PATH (default: all). */
  tools?: readonly string[];
  /** Where the generated grub.cfg lives (default /boot/grub). */
  grubDir?: string;
  /**
   * PATH holds the fakes and only the few programs they and the build-tool probes use (sh,
   * basename, …): the probes (`command -v gcc`, `gcc -E`) then find none of this machine's tools.
   */
  onlyFakes?: boolean;
  /**
   * This machine's QEMU, qemu-img, xorriso, 7-Zip and rclone on the isolated PATH of `onlyFakes` (default
   * true), so that only what a test leaves out is missing. Either way the snapshot's QEMU data files
   * (its manifest's `paths`) are in the root, where the QEMU checks look for them.
   */
  qemu?: boolean;
}

/** The programs the QEMU and tool checks probe (src/steps/checks/qemu.ts, qemu-packages.ts, live-share.ts). */
export const QEMU_PROGRAMS = ['qemu-system-ppc', 'qemu-img', 'xorriso', '7zz', '7z', 'rclone'] as const;

const FAKES_NEED = ['sh', 'bash', 'basename', 'dirname', 'seq', 'sleep', 'grep', 'mv', 'mkdir', 'awk', 'ln', 'rm', 'chmod'] as const;

export interface Sandbox {
  root: string;
  /** The gid of group kvm in the sandbox's /etc/group (/dev/kvm's group). */
  kvmGid: number;
  bin: string;
  log: string;
  env: NodeJS.ProcessEnv;
  /** argv of every fake tool call so far, in order. */
  calls(): Promise<string[][]>;
  /** calls() without the fake sudo's own records (the command it ran records itself): the same as root or not. */
  commands(): Promise<string[][]>;
  read(path: string): Promise<Buffer>;
  setup(args: string[], env?: NodeJS.ProcessEnv, node?: string): Promise<CliResult>;
  cleanup(): Promise<void>;
}

/** Empty stand-ins for the files the snapshot's manifest records as present under /usr (QEMU's firmware and ROMs): the checks look only at whether they are there. */
async function snapshotDataFiles(snapshot: string, root: string): Promise<void> {
  const m = JSON.parse(await readFile(join(SNAPSHOTS, snapshot, 'talos-mac-snapshot.json'), 'utf8')) as { paths?: Record<string, { exists: boolean; type?: string }> };
  for (const [path, info] of Object.entries(m.paths ?? {})) {
    if (!info.exists || info.type !== 'file' || !path.startsWith('/usr/')) continue;
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), '');
  }
}

async function manifestUname(snapshot: string): Promise<{ r: string; m: string }> {
  const m = JSON.parse(await readFile(join(SNAPSHOTS, snapshot, 'talos-mac-snapshot.json'), 'utf8')) as { commands: { argv: string[]; stdout?: string }[] };
  const out = (flag: string) => m.commands.find((c) => c.argv[0] === 'uname' && c.argv[1] === flag)?.stdout?.trim() ?? '';
  return { r: out('-r'), m: out('-m') };
}

export async function makeSandbox(o: SandboxOptions): Promise<Sandbox> {
  const base = await mkdtemp(join(tmpdir(), 'talos-mac-setup-'));
  await chmod(base, 0o755);
  const root = join(base, 'root');
  const bin = join(base, 'bin');
  const log = join(base, 'calls.log');
  await cp(join(SNAPSHOTS, o.snapshot), root, { recursive: true });
  await rm(join(root, 'talos-mac-snapshot.json'));
  await mkdir(bin);
  // Copies, not links: the tests also run the CLI as `nobody`, who may not read a private checkout.
  // Not root, the runner puts sudo before every change: the fake one, always, so the host's sudo
  // never runs a command (its secure_path would also lose the fakes).
  const tools = new Set(['_record.sh', 'uname', 'dmesg', ...(o.tools ?? ALL_TOOLS), ...(isRoot ? [] : ['sudo'])]);
  for (const tool of tools) {
    await cp(join(FAKEBIN, tool), join(bin, tool));
    await chmod(join(bin, tool), 0o755);
  }
  if (o.onlyFakes) {
    for (const name of FAKES_NEED) {
      const real = ['/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
      if (!real) throw new Error(`sandbox: no ${name} on this machine`);
      await symlink(real, join(bin, name));
    }
    if (o.qemu !== false) {
      for (const name of QEMU_PROGRAMS) {
        const real = ['/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
        if (real) await symlink(real, join(bin, name));
      }
    }
  }
  await snapshotDataFiles(o.snapshot, root);
  await writeFile(log, '', { mode: 0o666 });
  await chmod(log, 0o666);
  const uname = await manifestUname(o.snapshot);
  const env: NodeJS.ProcessEnv = {
    PATH: o.onlyFakes ? bin : `${bin}:/usr/bin:/bin`,
    FAKE_ROOT: root,
    FAKE_LOG: log,
    FAKE_UNAME_R: uname.r,
    FAKE_UNAME_M: uname.m,
    SUDO_USER: undefined,
    // No desktop session: whether QEMU's window module is installed does not depend on where the tests run.
    DISPLAY: undefined,
    WAYLAND_DISPLAY: undefined,
  };
  await mkdir(join(root, 'etc', 'default'), { recursive: true });
  // /dev/kvm's group is kvm: as root chown gives it KVM_GID; otherwise it keeps this user's group, so kvm gets that gid.
  const kvmGid = isRoot ? KVM_GID : process.getgid!();
  const aliceGid = kvmGid === 1000 ? 1001 : 1000;
  await writeFile(join(root, 'etc', 'group'), `root:x:0:\nadm:x:4:alice\nkvm:x:${kvmGid}:\nalice:x:${aliceGid}:\n`);
  await writeFile(join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/bash\nalice:x:1000:${aliceGid}:Alice,,,:/home/alice:/bin/bash\n`);
  await mkdir(join(root, 'dev'), { recursive: true });
  await writeFile(join(root, 'dev', 'kvm'), '');
  await chmod(join(root, 'dev', 'kvm'), 0o660);
  if (isRoot) await chown(join(root, 'dev', 'kvm'), 0, KVM_GID);
  if (o.modules !== undefined) await writeFile(join(root, 'proc', 'modules'), o.modules);
  if (o.bls) await cp(join(SETUP_FIXTURES, 'bls'), root, { recursive: true });
  if (o.grub) {
    await cp(join(SETUP_FIXTURES, 'grub', o.grub), join(root, 'etc', 'default', 'grub'));
    const dir = o.grubDir ?? '/boot/grub';
    await mkdir(join(root, dir), { recursive: true });
    if (!o.bls) {
      // The generated configuration as it was before setup: produced by the same fake from the same file.
      const r = spawnSync(join(FAKEBIN, 'grub-mkconfig'), ['-o', `${dir}/grub.cfg`], { env: { ...env, FAKE_LOG: '/dev/null' } });
      if (r.status !== 0) throw new Error(`sandbox grub.cfg: ${r.stderr}`);
    }
  }
  const sandbox: Sandbox = {
    root,
    kvmGid,
    bin,
    log,
    env,
    async calls() {
      const text = await readFile(log, 'utf8');
      return text.split('\n').filter(Boolean).map((l) => l.split('\t'));
    },
    commands: async () => (await sandbox.calls()).filter((c) => c[0] !== 'sudo'),
    read: (path) => readFile(join(root, path)),
    setup: (args, extra, node) => runCli(['setup', '--root', root, ...args], { env: { ...env, ...extra }, ...(node ? { node } : {}) }),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
  return sandbox;
}

/** GRUB_CMDLINE_LINUX as grub-mkconfig sees it: bash sources the file. */
export function sourcedCmdline(file: string): string {
  const r = spawnSync('bash', ['-c', '. "$1" >/dev/null 2>&1; printf %s "$GRUB_CMDLINE_LINUX"', 'bash', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bash could not source ${file}: ${r.stderr}`);
  return r.stdout;
}

export function countWord(cmdline: string, word: string): number {
  return cmdline.split(/\s+/).filter((w) => w === word).length;
}

export async function withSandbox<T>(o: SandboxOptions, fn: (sb: Sandbox) => Promise<T>): Promise<T> {
  const sb = await makeSandbox(o);
  try {
    return await fn(sb);
  } finally {
    await sb.cleanup();
  }
}
