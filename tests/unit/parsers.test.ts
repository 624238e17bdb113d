import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boardName, cpuGeneration, mmuFromCpuInfo, parseCpuInfo } from '../../src/parse/cpuinfo.js';
import { mmuFromDmesg } from '../../src/parse/dmesg.js';
import { disableRadixValue } from '../../src/parse/cmdline.js';
import { decodeConfigFile, parseKernelConfig } from '../../src/parse/kconfig.js';
import { moduleListed, parseProcModules } from '../../src/parse/proc-modules.js';
import { blsOptions, coverage, grubCfgKernelArgs, grubDefaultCmdlines } from '../../src/parse/bootloader.js';
import { accelNames, dataDirs, machineNames, qemuVersion } from '../../src/parse/qemu.js';
import { kernelVersion } from '../../src/parse/kernel-release.js';
import { pathInSnapshot } from '../../src/host/snapshot-path.js';
import { gzipSync } from 'node:zlib';
import { SNAPSHOTS } from '../helpers/cli.js';

const fixture = (snap: string, path: string) => readFile(join(SNAPSHOTS, snap, path), 'utf8');

test('cpuinfo of the captured POWER9: generation, platform, MMU', async () => {
  const info = parseCpuInfo(await fixture('debian12-6.1.0-50-radix', 'proc/cpuinfo'));
  assert.equal(cpuGeneration(info), 'POWER9');
  assert.equal(info.pvr, '004e 1200');
  assert.equal(info.platform, 'PowerNV');
  assert.equal(info.firmware, 'OPAL');
  assert.equal(mmuFromCpuInfo(info), 'radix');
  assert.equal(boardName(info), 'QEMU-emulated PowerNV');
  assert.equal(mmuFromCpuInfo(parseCpuInfo(await fixture('debian12-6.1.0-50-hash', 'proc/cpuinfo'))), 'hash');
});

test('cpuinfo: Raptor boards by OPAL machine name, x86 is not POWER, empty is unknown', () => {
  assert.equal(boardName(parseCpuInfo('machine\t\t: PowerNV T2P9D01 REV 1.01\n')), 'Raptor Talos II');
  assert.equal(boardName(parseCpuInfo('machine : PowerNV C1P9S01 REV 1.01\n')), 'Raptor Blackbird');
  assert.equal(cpuGeneration(parseCpuInfo('processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\n')), 'not-power');
  assert.equal(cpuGeneration(parseCpuInfo('')), 'unknown');
  assert.equal(cpuGeneration(parseCpuInfo('processor : 0\ncpu : POWER8E (raw), altivec supported\n')), 'POWER8');
});

test('dmesg: a radix boot full of "hash table" lines is still radix', async () => {
  const radix = await fixture('debian12-6.1.0-50-radix', 'commands/dmesg.txt');
  assert.match(radix, /hash table entries/);
  assert.equal(mmuFromDmesg(radix), 'radix');
  assert.equal(mmuFromDmesg(await fixture('pr-kernel-6.1.176-hash', 'commands/dmesg.txt')), 'hash');
  assert.equal(mmuFromDmesg('[    0.000000] Initializing hash mmu with SLB\n'), 'hash', 'older kernels: no hash-mmu: prefix');
  assert.equal(mmuFromDmesg('Dentry cache hash table entries: 262144\n'), undefined);
});

test('disable_radix is read like kstrtobool', () => {
  assert.equal(disableRadixValue('console=hvc0 disable_radix'), true);
  assert.equal(disableRadixValue('disable_radix=1'), true);
  assert.equal(disableRadixValue('disable_radix=on'), true);
  assert.equal(disableRadixValue('disable_radix=Y'), true);
  assert.equal(disableRadixValue('disable_radix=0'), false);
  assert.equal(disableRadixValue('disable_radix=off'), false);
  assert.equal(disableRadixValue('disable_radix disable_radix=n'), false, 'the last one wins');
  assert.equal(disableRadixValue('xdisable_radix quiet'), undefined);
  assert.equal(disableRadixValue('foo="disable_radix bar"'), undefined, 'quoted inside another argument');
});

test('kernel config: set, module, unset; gzip like /proc/config.gz; garbage is undefined', async () => {
  const text = await fixture('debian12-6.1.0-50-hash', 'boot/config-6.1.0-50-powerpc64le');
  const cfg = parseKernelConfig(text);
  assert.ok(cfg);
  assert.equal(cfg.get('CONFIG_NO_HZ_FULL'), 'y');
  assert.equal(cfg.get('CONFIG_KVM_BOOK3S_64_HV'), 'm');
  assert.equal(cfg.get('CONFIG_NO_HZ_IDLE'), 'n');
  assert.equal(cfg.get('CONFIG_KVM_BOOK3S_64_PR'), undefined);
  assert.equal(parseKernelConfig(decodeConfigFile(gzipSync(Buffer.from(text))))?.get('CONFIG_NO_HZ_FULL'), 'y');
  assert.equal(parseKernelConfig('hello\nworld\n'), undefined);
});

test('modules: /proc/modules names and modules.dep entries in any compression', () => {
  assert.deepEqual([...parseProcModules('kvm_pr 393216 0 - Live 0x0\nkvm 524288 1 kvm_pr, Live 0x0\n')], ['kvm_pr', 'kvm']);
  const dep = 'kernel/arch/powerpc/kvm/kvm.ko.xz:\nkernel/arch/powerpc/kvm/kvm-pr.ko.xz: kernel/arch/powerpc/kvm/kvm.ko.xz\n';
  assert.equal(moduleListed(dep, 'kvm-pr'), 'kernel/arch/powerpc/kvm/kvm-pr.ko.xz');
  assert.equal(moduleListed('updates/kvm-pr.ko:\n', 'kvm-pr'), 'updates/kvm-pr.ko');
  assert.equal(moduleListed('kernel/arch/powerpc/kvm/kvm-hv.ko:\n', 'kvm-pr'), undefined);
});

test('boot loader: /etc/default/grub values as sh reads them, grub.cfg and BLS kernel lines', () => {
  const grub = [
    '# GRUB_CMDLINE_LINUX="commented disable_radix"',
    'GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"',
    "GRUB_CMDLINE_LINUX='root=/dev/sda2 disable_radix'",
    'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX"x # trailing comment',
  ].join('\n');
  assert.deepEqual(grubDefaultCmdlines(grub.split('\n').slice(0, 3).join('\n')), { linuxDefault: 'quiet splash', linux: 'root=/dev/sda2 disable_radix' });
  assert.equal(grubDefaultCmdlines(grub).linux, 'root=/dev/sda2 disable_radixx', 'as bash: the closing quote ends the name');
  assert.equal(grubDefaultCmdlines('GRUB_CMDLINE_LINUX="ro"\nGRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUXx\n').linux, '', 'as bash: another, unset variable');
  assert.equal(grubDefaultCmdlines('GRUB_CMDLINE_LINUX="ro"\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX quiet"\n').linux, 'ro quiet');
  const dropIn = 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} disable_radix"\n';
  assert.equal(grubDefaultCmdlines('GRUB_CMDLINE_LINUX="ro"\n', dropIn).linux, 'ro disable_radix', '/etc/default/grub.d/*.cfg extends');
  const cfg = "menuentry 'Debian' {\n\tlinux\t/boot/vmlinux-6.1 root=UUID=1 ro disable_radix quiet\n}\nmenuentry 'old' {\n  linux /boot/vmlinux-5 ro\n}\n";
  const args = grubCfgKernelArgs(cfg);
  assert.equal(args.length, 2);
  assert.equal(coverage(args), 'some');
  assert.equal(blsOptions('title Fedora\noptions $kernelopts disable_radix\n', 'kernelopts=root=/dev/x ro\n'), 'root=/dev/x ro disable_radix');
});

test('QEMU help output: version, machines, accelerators, data dirs', async () => {
  assert.equal(qemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)'), '7.2.22');
  assert.equal(qemuVersion('QEMU emulator version 2.11.1(Debian 1:2.11+dfsg-1ubuntu7)'), '2.11.1');
  const m = await readFile(join(SNAPSHOTS, 'pr-kernel-6.1.176-hash', 'talos-mac-snapshot.json'), 'utf8');
  const machines = JSON.parse(m).commands.find((c: { argv: string[] }) => c.argv[1] === '-M').stdout as string;
  assert.ok(machineNames(machines).has('mac99'));
  assert.ok(!machineNames(machines).has('Supported'));
  assert.deepEqual([...accelNames('Accelerators supported in QEMU binary:\ntcg\n')], ['tcg']);
  assert.deepEqual(dataDirs('/usr/bin/../share/qemu\n/usr/bin/../lib/ipxe/qemu\n'), ['/usr/share/qemu', '/usr/lib/ipxe/qemu']);
});

test('kernel release strings', () => {
  assert.deepEqual(kernelVersion('6.1.0-50-powerpc64le'), [6, 1, 0]);
  assert.deepEqual(kernelVersion('4.17'), [4, 17, 0]);
  assert.equal(kernelVersion('custom'), undefined);
});

test('snapshot paths cannot escape the snapshot directory', () => {
  assert.equal(pathInSnapshot('/snap', '/proc/cpuinfo'), '/snap/proc/cpuinfo');
  assert.equal(pathInSnapshot('/snap', '/../../etc/shadow'), '/snap/etc/shadow');
  assert.throws(() => pathInSnapshot('/snap', 'relative'));
});

test('GRUB_CMDLINE_LINUX values agree with what bash makes of the same file', async () => {
  const { execFileSync } = await import('node:child_process');
  const files = [
    'GRUB_CMDLINE_LINUX="quiet splash"',
    "GRUB_CMDLINE_LINUX='a \"b\" $c'",
    'GRUB_CMDLINE_LINUX=plain',
    'GRUB_CMDLINE_LINUX="ro"\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX disable_radix"',
    'GRUB_CMDLINE_LINUX="ro"\nGRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX}"x\' y\'',
    'GRUB_CMDLINE_LINUX="ro"\nGRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUXx',
    'GRUB_CMDLINE_LINUX="esc \\" \\$HOME"   # comment',
    '# GRUB_CMDLINE_LINUX="commented"\nexport GRUB_CMDLINE_LINUX="exported"',
  ];
  for (const file of files) {
    const bash = execFileSync('bash', ['-c', `${file}\nprintf %s "$GRUB_CMDLINE_LINUX"`], { env: {} }).toString();
    assert.equal(grubDefaultCmdlines(file).linux ?? '', bash, file);
  }
});
