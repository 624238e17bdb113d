// The distribution table (src/distro/table.ts): each row is recognised from its distribution's own
// /etc/os-release, and one row added to the table changes every install command doctor and the
// kernel steps show, with no other edit.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DISTROS, distroOf, hasFeature, type Distro } from '../../src/distro/distro.js';
import { APT, isPackageTool, PACKAGE_MANAGERS, type PackageManager } from '../../src/distro/package-manager.js';
import { hookSupported } from '../../src/kernel/hook.js';
import type { CommandResult, Host } from '../../src/host/host.js';
import { SnapshotHost } from '../../src/host/snapshot-host.js';
import { packagePlan } from '../../src/kernel/new-kernel.js';
import { parseOsRelease } from '../../src/parse/os-release.js';
import { STEPS as doctorChecks } from '../../src/steps/registry.js';
import { DEFAULT_HOST_OPTIONS, type HostOptions } from '../../src/steps/step.js';
import { Facts } from '../../src/host/facts.js';
import type { Step } from '../../src/steps/step.js';
import { REPO, SNAPSHOTS } from '../helpers/cli.js';

const rowOf = (text: string) => distroOf(parseOsRelease(text)).id;

// Texts as the distributions write them: Debian 12 from the captured snapshots; Fedora from
// fedora-release.spec's %install (dist_version 40); openSUSE Tumbleweed from openSUSE-release.spec's
// %install; Chimera from chimera-linux/cports main/base-files/files/os-release. Debian 13, Ubuntu,
// AlmaLinux and Rocky as `cat /etc/os-release` printed them on installed systems (published logs).
const FEDORA_40 = `NAME="Fedora Linux"
VERSION="40 (Rawhide Prerelease)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Rawhide Prerelease)"
DEFAULT_HOSTNAME="fedora"
`;
const TUMBLEWEED = `NAME="openSUSE Tumbleweed"
# VERSION="20250527"
ID="opensuse-tumbleweed"
ID_LIKE="opensuse suse"
VERSION_ID="20250527"
PRETTY_NAME="openSUSE Tumbleweed"
`;
const CHIMERA = `NAME="Chimera"
ID="chimera"
PRETTY_NAME="Chimera Linux"
HOME_URL="https://chimera-linux.org"
`;
const DEBIAN_13 = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
`;
const UBUNTU_2404 = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
`;
const ALMA_93 = `NAME="AlmaLinux"
VERSION="9.3 (Shamrock Pampas Cat)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
`;
const ROCKY_94 = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
`;

test('each row is recognised from its distribution’s os-release', async () => {
  assert.equal(rowOf(await readFile(join(SNAPSHOTS, 'debian12-6.1.0-50-hash', 'etc', 'os-release'), 'utf8')), 'debian-12');
  assert.equal(rowOf(DEBIAN_13), 'debian-13');
  assert.equal(rowOf(UBUNTU_2404), 'ubuntu');
  assert.equal(rowOf(FEDORA_40), 'fedora');
  assert.equal(rowOf(ALMA_93), 'rhel');
  assert.equal(rowOf(ROCKY_94), 'rhel');
  assert.equal(rowOf(TUMBLEWEED), 'opensuse');
  assert.equal(rowOf(CHIMERA), 'chimera');
  // Derivatives by ID_LIKE, closest first; VERSION_ID only ever counts for ID itself.
  assert.equal(rowOf('ID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_ID="22"\n'), 'ubuntu');
  assert.equal(rowOf('ID=devuan\nID_LIKE=debian\nVERSION_ID="12"\n'), 'debian-14');
  assert.equal(rowOf('ID=debian\nVERSION_ID="11"\n'), 'debian-14');
  // Debian unstable's os-release has no VERSION_ID (base-files 14.2, tests/fixtures/debian-unstable/os-release).
  assert.equal(rowOf('PRETTY_NAME="Debian GNU/Linux forky/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=forky\nID=debian\n'), 'debian-14');
  assert.equal(rowOf('ID=gentoo\n'), 'unknown');
  assert.equal(rowOf(''), 'unknown');
  for (const d of DISTROS) assert.ok(d.source.length > 0 && (d.evidence === 'captured') === d.id.startsWith('debian-'), `${d.id}: evidence and source`);
});

/** A made-up package manager: any install command from another row would show. */
const TPM: PackageManager = {
  program: 'tpm',
  install: (p) => ['tpm', 'get', '--yes', ...p],
  ask: (p) => ['tpm', 'get', ...p],
  remove: (p) => ['tpm', 'drop', ...p],
  query: (p) => ['tpm', 'has', p],
  upgrade: (p) => ['tpm', 'up', ...p],
};

const TESTIX: Distro = {
  id: 'testix',
  name: 'Testix',
  evidence: 'published',
  source: 'this test',
  osRelease: { ids: ['testix'] },
  packages: TPM,
  names: {
    build: { make: 'tpm-make', gcc: 'tpm-gcc', flex: 'tpm-flex', bison: 'tpm-bison', bc: 'tpm-bc', perl: 'tpm-perl', patch: 'tpm-patch', libelf: 'tpm-elf', openssl: 'tpm-ssl', pahole: 'tpm-pahole' },
    crossGcc: 'tpm-cross-{cpu}',
    packaging: [{ what: 'packager', command: 'tpm-pack', package: 'tpm-packager' }],
    headers: 'tpm-headers-{release}',
    qemu: { 'qemu-system-ppc': 'tpm-qemu', 'qemu-img': 'tpm-img', openbios: 'tpm-openbios', 'vga-rom': 'tpm-vga', 'nic-rom': 'tpm-ipxe', window: 'tpm-gtk' },
  },
  kernelArgs: { usual: 'grub-default', regenerate: ['grub2-mkconfig'] },
  kernelSource: { package: 'tpm-linux-{major}.{minor}', tarballs: ['/usr/src/tpm-linux-{major}.{minor}.tar.xz'] },
  kernelPackaging: { target: 'binrpm-pkg' },
  kvmPr: 'made up',
};

/** The table with one row more: given to Facts, never pushed into the exported table (other tests share it). */
const WITH_TESTIX: readonly Distro[] = [...DISTROS, TESTIX];

let work = '';
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'talos-distro-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of a captured snapshot whose /etc/os-release is `osRelease`, with optional other files replaced. */
async function snapshotAs(name: string, osRelease: string, files: Record<string, string> = {}): Promise<SnapshotHost> {
  const dir = join(work, `${name}-${Math.random().toString(36).slice(2)}`);
  await cp(join(SNAPSHOTS, name), dir, { recursive: true });
  for (const [path, text] of Object.entries({ 'etc/os-release': osRelease, ...files })) await writeFile(join(dir, path), text);
  return SnapshotHost.open(dir);
}

/** The snapshot with every build tool missing (their probes are `sh -c …`, which snapshots do not record). */
const withoutBuildTools = (host: Host): Host =>
  Object.assign(Object.create(host) as Host, {
    run: async (argv: readonly string[]): Promise<CommandResult> =>
      argv[0] === 'sh' ? { argv: [...argv], exitCode: 1, stdout: '', stderr: '', notFound: false, timedOut: false } : host.run(argv),
  });

async function fixCommands(host: Host, steps: readonly Step[], options: HostOptions = DEFAULT_HOST_OPTIONS): Promise<Map<string, string[]>> {
  const facts = new Facts(host, WITH_TESTIX);
  const out = new Map<string, string[]>();
  for (const s of steps) {
    const r = await s.verify({ host, facts, options });
    if (r.fix?.commands) out.set(s.id, r.fix.commands);
  }
  return out;
}

const PACKAGE_TOOLS = /\b(apt-get|apt|dpkg|dnf|rpm|zypper|apk|pacman|tpm)\b/;

test('one row added to the table changes every install command doctor and the kernel steps show', async () => {
  const os = 'ID=testix\nVERSION_ID=1\n';
  const shown = new Map<string, string[]>();
  const collect = (m: Map<string, string[]>, tag: string) => m.forEach((v, k) => shown.set(`${tag}:${k}`, v));
  collect(await fixCommands(await snapshotAs('varied-no-qemu', os), doctorChecks), 'no-qemu');
  for (const s of ['varied-no-vga-rom', 'varied-no-nic-rom', 'varied-no-window']) collect(await fixCommands(await snapshotAs(s, os), doctorChecks), s);
  const radix = await snapshotAs('debian12-6.1.0-50-radix', os);
  collect(await fixCommands(radix, doctorChecks), 'radix');
  collect(await fixCommands(withoutBuildTools(radix), doctorChecks, { ...DEFAULT_HOST_OPTIONS, buildKernel: true }), 'radix-kernel');
  // The PR kernel before kvm-pr.ko existed: the module must be built, against the headers' Module.symvers.
  const prHost = await snapshotAs('pr-kernel-6.1.176-hash', os, {
    'proc/modules': '',
    'lib/modules/6.1.176/modules.dep': 'kernel/arch/powerpc/kvm/kvm.ko:\nkernel/arch/powerpc/kvm/kvm-hv.ko: kernel/arch/powerpc/kvm/kvm.ko\n',
  });
  collect(await fixCommands(withoutBuildTools(prHost), doctorChecks), 'pr-kernel');

  const all = [...shown.values()].flat();
  const installs = all.filter((c) => PACKAGE_TOOLS.test(c));
  assert.ok(installs.length >= 9, `install commands shown: ${installs.join(' | ')}`);
  for (const c of installs) assert.match(c, /^(sudo tpm get tpm-|tpm get --yes tpm-)/, c);
  assert.deepEqual(shown.get('no-qemu:qemu.binary'), ['sudo tpm get tpm-qemu']);
  assert.deepEqual(shown.get('no-qemu:qemu.img'), ['sudo tpm get tpm-img']);
  assert.deepEqual(shown.get('varied-no-vga-rom:qemu.vga-rom'), ['sudo tpm get tpm-vga']);
  assert.deepEqual(shown.get('varied-no-nic-rom:qemu.nic-rom.rtl8139'), ['sudo tpm get tpm-ipxe']);
  assert.deepEqual(shown.get('varied-no-window:qemu.display-window'), ['sudo tpm get tpm-gtk']);
  assert.ok(shown.get('radix:mmu.active')?.includes('sudo grub2-mkconfig -o /boot/grub2/grub.cfg'), String(shown.get('radix:mmu.active')));
  // pahole: Debian 12's config records CONFIG_PAHOLE_VERSION=124, so a new kernel's build needs it.
  assert.deepEqual(shown.get('radix-kernel:kernel.build-tools'), ['tpm get --yes tpm-make tpm-gcc tpm-flex tpm-bison tpm-bc tpm-perl tpm-patch tpm-elf tpm-ssl tpm-packager tpm-pahole']);
  assert.deepEqual(shown.get('radix-kernel:kernel.source'), ['tpm get --yes tpm-linux-6.1']);
  assert.deepEqual(shown.get('pr-kernel:kernel.headers'), ['tpm get --yes tpm-headers-6.1.176']);
  assert.deepEqual(shown.get('pr-kernel:kernel.build-tools'), ['tpm get --yes tpm-make tpm-gcc tpm-flex tpm-bison tpm-bc tpm-perl tpm-patch tpm-elf tpm-ssl']);
  assert.match(packagePlan(TESTIX).describe, /installed with tpm$/);
  assert.ok(!DISTROS.includes(TESTIX), 'the exported table is as it was');
});

test('an unrecognised system is shown no install command at all, rather than another distribution’s', async () => {
  const host = await snapshotAs('varied-no-qemu', 'ID=gentoo\n');
  const shown = [...(await fixCommands(host, doctorChecks)).values()].flat();
  assert.deepEqual(shown.filter((c) => PACKAGE_TOOLS.test(c)), []);
  const r = await doctorChecks.find((s) => s.id === 'qemu.binary')!.verify({ host, facts: new Facts(host), options: DEFAULT_HOST_OPTIONS });
  assert.match(r.fix!.text, /does not know its package on an unrecognised distribution/);
});

test('what only some distributions offer is a field of the row, not a test of the package manager’s name', () => {
  assert.equal(hookSupported(TESTIX), false);
  assert.equal(hookSupported({ ...TESTIX, features: ['kernel-postinst.d'] }), true, 'a row with the feature, whatever its package manager');
  for (const d of DISTROS) {
    const deb = d.packages?.program === 'apt-get';
    for (const f of ['dpkg', 'apt-cache', 'kernel-postinst.d'] as const) assert.equal(hasFeature(d, f), deb, `${d.id}: ${f}`);
  }
  assert.deepEqual(APT.upgrade(['linux-source-6.1']), ['apt-get', 'install', '--only-upgrade', 'linux-source-6.1']);
});

test('every package manager is in the one list, and the runner gives each a package manager’s timeout', () => {
  const rows = new Set(DISTROS.map((d) => d.packages).filter((p) => p !== undefined));
  for (const pm of rows) assert.ok(PACKAGE_MANAGERS.includes(pm), pm.program);
  for (const p of ['apt-get', 'dnf', 'zypper', 'apk', 'pacman', 'dpkg', 'rpm']) assert.ok(isPackageTool(p), p);
  assert.equal(isPackageTool('modprobe'), false);
});

test('no install hint is written outside the distribution table: src/ names no package manager except src/distro/', async () => {
  const { readdir } = await import('node:fs/promises');
  const src = join(REPO, 'src');
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts') && !f.startsWith('distro/'));
  const found: string[] = [];
  for (const f of files) {
    const lines = (await readFile(join(src, f), 'utf8')).split('\n');
    lines.forEach((l, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(l)) return;
      if (/\b(apt-get|apt install|dnf install|zypper|pacman -S|apk add)\b|'(apt-get|dnf|zypper|pacman|apk)'/.test(l)) found.push(`src/${f}:${i + 1}: ${l.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
