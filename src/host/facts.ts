import { describeCommandFailure, type CommandResult, type Host, type PathInfo } from './host.js';
import { parseCpuInfo, type CpuInfo } from '../parse/cpuinfo.js';
import { parseOsRelease } from '../parse/os-release.js';
import { DISTROS, distroOf, type Distro } from '../distro/distro.js';
import { decodeConfigFile, parseKernelConfig, type KernelConfig } from '../parse/kconfig.js';
import { moduleListed, parseProcModules } from '../parse/proc-modules.js';
import { dataDirs } from '../parse/qemu.js';
import { kernelConfigPaths, PROC_CONFIG } from '../distro/kernel-files.js';
import { blsOptions, grubCfgKernelArgs, grubDefaultCmdlines, type GrubCmdlines } from '../parse/bootloader.js';

/** A fact, or why it could not be read: checks turn the reason into an `unknown` state. */
export type Fact<T> = { ok: true; value: T; source: string } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

export interface BootConfig {
  /** The generated configuration Petitboot reads: BLS entries or grub.cfg kernel lines. */
  kind: 'bls' | 'grub-cfg' | 'none';
  files: string[];
  cmdlines: string[];
  unreadable: string[];
  /** GRUB_CMDLINE_LINUX / _DEFAULT from /etc/default/grub, when that file exists. */
  defaultGrub?: GrubCmdlines;
}

/** The program talos-mac runs for mac99 guests; every check asks this one. */
export const QEMU_PROGRAM = 'qemu-system-ppc';

/** What checks ask QEMU itself (argv after the program), each run at most once per Facts. */
export const QEMU_QUERIES = {
  version: ['--version'],
  machines: ['-M', 'help'],
  accels: ['-accel', 'help'],
  dataDirs: ['-L', 'help'],
  displays: ['-display', 'help'],
  devices: ['-device', 'help'],
  machineOptions: ['-M', 'mac99,help'],
  audiodevs: ['-audiodev', 'help'],
} as const;
export type QemuQuery = keyof typeof QEMU_QUERIES;

/** Where QEMU would find one of its data files (a firmware or ROM), searched as QEMU searches. */
export type DataFileLookup =
  | { found: string; dirs: string[] }
  | { found?: undefined; dirs: string[]; /** Candidates that exist but QEMU cannot use: dangling links, unreadable files. */ unusable: string[]; unknown?: string };

/** Used only when `-L help` gives no answer: QEMU's compiled-in data directory on most builds. */
const FALLBACK_DATA_DIRS = ['/usr/share/qemu', '/usr/local/share/qemu'];

/** Everything checks read from a host, each read once per run however many checks ask. */
export class Facts {
  private readonly memo = new Map<string, Promise<unknown>>();

  /** `distros`: the table this host's row is looked up in (src/distro/table.ts). */
  constructor(
    readonly host: Host,
    private readonly distros: readonly Distro[] = DISTROS,
  ) {}

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.memo.set(key, p);
    }
    return p;
  }

  command(argv: readonly string[]): Promise<CommandResult> {
    return this.once(`cmd:${JSON.stringify(argv)}`, () => this.host.run(argv));
  }

  text(path: string): Promise<Fact<string>> {
    return this.once(`file:${path}`, async () => {
      const r = await this.host.readFile(path);
      return r.ok ? { ok: true as const, value: r.data.toString('utf8'), source: path } : fail(`${path}: ${r.message}`);
    });
  }

  pathInfo(path: string): Promise<PathInfo> {
    return this.once(`path:${path}`, () => this.host.pathInfo(path));
  }

  private async commandLine(argv: string[]): Promise<Fact<string>> {
    const r = await this.command(argv);
    const out = r.stdout.trim();
    return r.exitCode === 0 && out ? { ok: true, value: out, source: argv.join(' ') } : fail(describeCommandFailure(r));
  }

  arch(): Promise<Fact<string>> {
    return this.commandLine(['uname', '-m']);
  }

  release(): Promise<Fact<string>> {
    return this.commandLine(['uname', '-r']);
  }

  cpuinfo(): Promise<Fact<CpuInfo>> {
    return this.once('cpuinfo', async () => {
      const t = await this.text('/proc/cpuinfo');
      if (!t.ok) return t;
      const info = parseCpuInfo(t.value);
      return info.processors > 0 || info.cpu ? { ok: true as const, value: info, source: t.source } : fail('/proc/cpuinfo is empty or unreadable');
    });
  }

  cmdline(): Promise<Fact<string>> {
    return this.text('/proc/cmdline');
  }

  /** The kernel log, when this user may read it (kernel.dmesg_restrict often says no). */
  dmesg(): Promise<Fact<string>> {
    return this.once('dmesg', async () => {
      const r = await this.command(['dmesg']);
      if (r.exitCode === 0 && r.stdout.trim()) return { ok: true as const, value: r.stdout, source: 'dmesg' };
      return fail(/not permitted|denied/i.test(r.stderr) ? 'dmesg needs root here (kernel.dmesg_restrict)' : describeCommandFailure(r));
    });
  }

  /** The running kernel's configuration: its release's files (kernelConfigOf), then /proc/config.gz. */
  kernelConfig(): Promise<Fact<KernelConfig>> {
    return this.once('kconfig', async () => {
      const rel = await this.release();
      return rel.ok ? this.kernelConfigOf(rel.value) : this.readKernelConfig([PROC_CONFIG]);
    });
  }

  /**
   * An installed kernel's configuration, from where its distribution's layout puts it
   * (src/distro/kernel-files.ts); for the running release, /proc/config.gz last. `source` is the file read.
   */
  kernelConfigOf(release: string): Promise<Fact<KernelConfig>> {
    return this.once(`kconfig:${release}`, async () => {
      const [running, distro] = await Promise.all([this.release(), this.distro()]);
      const paths = kernelConfigPaths(release, distro.kernelLayout);
      return this.readKernelConfig(running.ok && running.value === release ? [...paths, PROC_CONFIG] : paths);
    });
  }

  private async readKernelConfig(candidates: readonly string[]): Promise<Fact<KernelConfig>> {
    const reasons: string[] = [];
    for (const path of candidates) {
      const r = await this.host.readFile(path);
      if (!r.ok) {
        reasons.push(`${path}: ${r.message}`);
        continue;
      }
      let text: string;
      try {
        text = decodeConfigFile(r.data);
      } catch {
        reasons.push(`${path}: not valid gzip`);
        continue;
      }
      const config = parseKernelConfig(text);
      if (config) return { ok: true as const, value: config, source: path };
      reasons.push(`${path}: holds no CONFIG_ lines (not a kernel configuration)`);
    }
    return fail(reasons.join('; '));
  }

  loadedModules(): Promise<Fact<Set<string>>> {
    return this.once('modules', async () => {
      const t = await this.text('/proc/modules');
      return t.ok ? { ok: true as const, value: parseProcModules(t.value), source: t.source } : t;
    });
  }

  /** Where kvm-pr.ko lives for the running kernel ("builtin" when compiled in), or undefined. */
  prModuleFile(): Promise<Fact<string | undefined>> {
    return this.once('prmodule', async () => {
      const rel = await this.release();
      if (!rel.ok) return rel;
      const base = `/lib/modules/${rel.value}`;
      const dep = await this.text(`${base}/modules.dep`);
      if (!dep.ok) return fail(`${base}/modules.dep cannot be read (${dep.reason}): are this kernel's modules installed?`);
      const found = moduleListed(dep.value, 'kvm-pr');
      if (found) return { ok: true as const, value: `${base}/${found}`, source: dep.source };
      const builtin = await this.text(`${base}/modules.builtin`);
      if (builtin.ok && moduleListed(builtin.value, 'kvm-pr')) return { ok: true as const, value: 'builtin', source: builtin.source };
      return { ok: true as const, value: undefined, source: dep.source };
    });
  }

  /**
   * Is a program on the host's PATH? Asked through the host (`command -v`), so a collected
   * snapshot answers it too. A snapshot without the answer counts as "yes": a plan then shows the
   * command that would run rather than refusing for want of a record.
   */
  hasCommand(name: string): Promise<boolean> {
    return this.once(`has:${name}`, async () => {
      const r = await this.host.run(['sh', '-c', 'command -v "$1"', 'sh', name]);
      if (r.notRecorded) return true;
      return r.exitCode === 0 && r.stdout.trim() !== '';
    });
  }

  /** Numeric uid and the names of this user's groups. */
  identity(): Promise<Fact<{ uid: number; groups: string[] }>> {
    return this.once('identity', async () => {
      const [uid, groups] = await Promise.all([this.commandLine(['id', '-u']), this.command(['id', '-Gn'])]);
      if (!uid.ok) return uid;
      return { ok: true as const, value: { uid: Number(uid.value), groups: groups.stdout.trim().split(/\s+/).filter(Boolean) }, source: 'id' };
    });
  }

  /** gid -> group name from /etc/group. */
  groupName(gid: number): Promise<string | undefined> {
    return this.once(`group:${gid}`, async () => {
      const t = await this.text('/etc/group');
      if (!t.ok) return undefined;
      for (const line of t.value.split('\n')) {
        const [name, , id] = line.split(':');
        if (name && Number(id) === gid) return name;
      }
      return undefined;
    });
  }

  osRelease(): Promise<Map<string, string>> {
    return this.once('os-release', async () => {
      const t = await this.text('/etc/os-release');
      return parseOsRelease(t.ok ? t.value : '');
    });
  }

  /** This host's row of the distribution table (src/distro/table.ts). */
  distro(): Promise<Distro> {
    return this.once('distro', async () => distroOf(await this.osRelease(), this.distros));
  }

  bootConfig(): Promise<BootConfig> {
    return this.once('boot', async () => {
      const result: BootConfig = { kind: 'none', files: [], cmdlines: [], unreadable: [] };
      const def = await this.text('/etc/default/grub');
      if (def.ok) {
        const dropIns = await this.host.readDir('/etc/default/grub.d');
        const extra: string[] = [];
        for (const name of dropIns.ok ? dropIns.entries.filter((e) => e.endsWith('.cfg')) : []) {
          const t = await this.text(`/etc/default/grub.d/${name}`);
          if (t.ok) extra.push(t.value);
        }
        result.defaultGrub = grubDefaultCmdlines(def.value, ...extra);
      }

      const entries = await this.host.readDir('/boot/loader/entries');
      const confs = entries.ok ? entries.entries.filter((e) => e.endsWith('.conf')) : [];
      if (confs.length > 0) {
        result.kind = 'bls';
        const env = await this.text('/boot/grub2/grubenv');
        for (const name of confs) {
          const path = `/boot/loader/entries/${name}`;
          const t = await this.text(path);
          if (!t.ok) {
            result.unreadable.push(path);
            continue;
          }
          result.files.push(path);
          const opts = blsOptions(t.value, env.ok ? env.value : undefined);
          if (opts !== undefined) result.cmdlines.push(opts);
        }
        return result;
      }
      for (const path of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
        const r = await this.host.readFile(path);
        if (r.ok) {
          result.kind = 'grub-cfg';
          result.files.push(path);
          result.cmdlines.push(...grubCfgKernelArgs(r.data.toString('utf8')));
        } else if (r.reason === 'denied') result.unreadable.push(path);
      }
      return result;
    });
  }

  qemu(query: QemuQuery): Promise<CommandResult> {
    return this.command([QEMU_PROGRAM, ...QEMU_QUERIES[query]]);
  }

  qemuImg(): Promise<CommandResult> {
    return this.command(['qemu-img', '--version']);
  }

  /**
   * QEMU looks a data file up in each directory `-L help` lists, in order, and takes the first it
   * may read (qemu_find_file: access(R_OK), seen with strace on 7.2): a dangling symlink or an
   * unreadable file is as good as missing.
   */
  qemuDataFile(name: string): Promise<DataFileLookup> {
    return this.once(`qemu-data:${name}`, async () => {
      const r = await this.qemu('dataDirs');
      const listed = r.exitCode === 0 ? dataDirs(r.stdout) : [];
      const dirs = listed.length > 0 ? listed : FALLBACK_DATA_DIRS;
      const unusable: string[] = [];
      for (const dir of dirs) {
        const path = `${dir}/${name}`;
        const info = await this.pathInfo(path);
        if (info.notRecorded) return { dirs, unusable, unknown: `the snapshot has no record of ${path}` };
        if (!info.exists) continue;
        if (info.type === 'link') unusable.push(`${path} (a symlink to nothing)`);
        else if (info.type !== 'file') unusable.push(`${path} (not a file)`);
        else if (info.readable === false) unusable.push(`${path} (not readable by this user)`);
        else return { found: path, dirs };
      }
      return { dirs, unusable };
    });
  }
}
