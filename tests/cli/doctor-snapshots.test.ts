import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DoctorReportSchema, type DoctorReport } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';

async function doctor(snapshot: string, ...extra: string[]): Promise<{ code: number | null; report: DoctorReport }> {
  const r = await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, snapshot), ...extra]);
  assert.equal(r.stderr, '', `no stderr expected, got: ${r.stderr}`);
  return { code: r.code, report: DoctorReportSchema.parse(JSON.parse(r.stdout)) };
}

const check = (report: DoctorReport, id: string) => {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} present`);
  return c;
};

// The four real captures (tests/fixtures/README.md) and the verdicts doctor must give on them.

test('Debian 12 radix: switch the MMU and a new kernel is needed', async () => {
  const { code, report } = await doctor('debian12-6.1.0-50-radix');
  assert.equal(code, 1);
  assert.equal(report.ok, false);
  assert.equal(report.host.mmu, 'radix');
  assert.equal(report.host.kvmPr, 'new-kernel-needed');
  assert.match(report.host.kvmPrReason, /CONTEXT_TRACKING_USER=y.*NO_HZ_FULL/);
  assert.equal(check(report, 'mmu.active').status, 'fail');
  assert.equal(check(report, 'mmu.active').fix?.bySetup, true);
  assert.equal(check(report, 'kernel.pr-support').status, 'fail');
  assert.equal(check(report, 'kernel.pr-module').status, 'skip');
  assert.equal(check(report, 'kvm.pr-loaded').state, 'blocked');
  assert.equal(report.verdict.kind, 'problems');
  assert.match(report.verdict.text, /Run the hash MMU/);
  assert.match(report.verdict.text, /new kernel is needed/);
});

test('Debian 12 hash: the MMU is right, but only a new kernel helps', async () => {
  const { code, report } = await doctor('debian12-6.1.0-50-hash');
  assert.equal(code, 1);
  assert.equal(report.host.mmu, 'hash');
  assert.equal(check(report, 'mmu.active').status, 'pass');
  assert.match(check(report, 'mmu.cmdline').summary, /is on the running kernel command line/);
  assert.equal(report.host.kvmPr, 'new-kernel-needed');
  assert.equal(check(report, 'kernel.pr-support').status, 'fail');
  assert.doesNotMatch(report.verdict.text, /hash MMU/);
});

test('PR kernel radix: switch the MMU; /dev/kvm being there is not enough', async () => {
  const { code, report } = await doctor('pr-kernel-6.1.176-radix');
  assert.equal(code, 1);
  assert.equal(check(report, 'mmu.active').status, 'fail');
  assert.equal(check(report, 'kernel.pr-support').status, 'pass');
  assert.equal(check(report, 'kernel.pr-module').status, 'pass');
  const loaded = check(report, 'kvm.pr-loaded');
  assert.equal(loaded.status, 'fail');
  assert.equal(loaded.state, 'blocked');
  assert.match(loaded.summary, /radix/);
  const dev = check(report, 'kvm.device');
  assert.equal(dev.status, 'warn', '/dev/kvm exists (kvm is loaded) but kvm_pr is not: a warning, not a pass');
  assert.match(dev.summary, /proves nothing/);
  assert.equal(report.host.kvmPr, 'module-needs-loading');
});

test('PR kernel hash with kvm_pr loaded: ready', async () => {
  const { code, report } = await doctor('pr-kernel-6.1.176-hash');
  assert.equal(code, 0);
  assert.equal(report.ok, true);
  assert.equal(report.verdict.kind, 'ready');
  assert.equal(report.host.kvmPr, 'ready');
  assert.equal(report.host.board, 'QEMU-emulated PowerNV');
  assert.equal(report.host.qemuVersion, '7.2.22');
  for (const id of ['mmu.active', 'kernel.pr-support', 'kvm.pr-loaded', 'kvm.device', 'qemu.kvm-accel', 'qemu.mac99']) {
    assert.equal(check(report, id).status, 'pass', id);
  }
});

// Hand-varied snapshots (marked "varied" in tests/fixtures/README.md).

test('kernel 4.17: the module must be built, and talos-mac says the patch is manual', async () => {
  const { code, report } = await doctor('varied-kernel-4.17');
  assert.equal(code, 1);
  assert.equal(report.host.kvmPr, 'module-must-be-built');
  const mod = check(report, 'kernel.pr-module');
  assert.equal(mod.status, 'fail');
  assert.equal(mod.fix?.bySetup, false);
  assert.match(mod.fix?.text ?? '', /by hand/);
});

test('RHEL-like config: a new kernel, for the plain reason', async () => {
  const { report } = await doctor('varied-rhel-like-config');
  assert.equal(report.host.kvmPr, 'new-kernel-needed');
  assert.match(report.host.kvmPrReason, /CONFIG_KVM_BOOK3S_64_PR is not set/);
  assert.doesNotMatch(report.host.kvmPrReason, /CONTEXT_TRACKING/);
});

test('module installed but not loaded: modprobe is the fix', async () => {
  const { report } = await doctor('varied-module-not-loaded');
  assert.equal(report.host.kvmPr, 'module-needs-loading');
  const loaded = check(report, 'kvm.pr-loaded');
  assert.equal(loaded.status, 'fail');
  assert.deepEqual(loaded.fix?.commands, ['sudo modprobe kvm_pr']);
  assert.equal(check(report, 'kvm.device').status, 'skip', 'a missing /dev/kvm is counted once, under kvm.pr-loaded');
});

test('no /dev/kvm access: the group that owns it, and a new login', async () => {
  const { code, report } = await doctor('varied-no-kvm-access');
  assert.equal(code, 1);
  const dev = check(report, 'kvm.device');
  assert.equal(dev.status, 'fail');
  assert.match(dev.summary, /0660 0:kvm/);
  assert.deepEqual(dev.fix?.commands, ['sudo usermod -aG kvm "$USER"']);
  assert.match(check(report, 'mmu.active').detail ?? '', /dmesg: could not read \(dmesg needs root/);
  assert.equal(check(report, 'mmu.active').status, 'pass', 'cpuinfo suffices when dmesg is not readable');
});

test('old QEMU warns; --strict turns the warning into a failure', async () => {
  const plain = await doctor('varied-old-qemu');
  assert.equal(plain.code, 0);
  assert.equal(check(plain.report, 'qemu.binary').status, 'warn');
  assert.match(check(plain.report, 'qemu.binary').summary, /2\.11\.1 is older than 3\.0/);
  const strict = await doctor('varied-old-qemu', '--strict');
  assert.equal(strict.code, 1);
  assert.equal(strict.report.ok, false);
});

test('no QEMU: install commands for the distribution, dependent checks skipped', async () => {
  const { code, report } = await doctor('varied-no-qemu');
  assert.equal(code, 1);
  assert.equal(check(report, 'qemu.binary').status, 'fail');
  assert.deepEqual(check(report, 'qemu.binary').fix?.commands, ['sudo apt-get install qemu-system-ppc']);
  assert.deepEqual(check(report, 'qemu.img').fix?.commands, ['sudo apt-get install qemu-utils']);
  assert.equal(check(report, 'qemu.mac99').status, 'skip');
  assert.equal(report.host.qemuVersion, null);
});

test('disable_radix configured but not booted yet: reboot-required, a distinct state', async () => {
  const { report } = await doctor('varied-reboot-pending');
  const mmu = check(report, 'mmu.active');
  assert.equal(mmu.state, 'reboot-required');
  assert.equal(mmu.status, 'warn');
  assert.equal(check(report, 'mmu.next-boot').status, 'pass');
  assert.match(report.verdict.text, /Reboot/);
});

test('broken inputs give unknown with a reason, never a crash', async () => {
  const { code, report } = await doctor('varied-broken-inputs');
  assert.equal(code, 0);
  assert.equal(check(report, 'platform.cpu').state, 'unknown');
  assert.match(check(report, 'platform.cpu').summary, /empty/);
  assert.equal(check(report, 'mmu.active').state, 'unknown');
  assert.match(check(report, 'kernel.pr-support').detail ?? '', /no CONFIG_ lines/);
  assert.match(check(report, 'kvm.hv-loaded').summary, /\/proc\/modules/);
  assert.match(check(report, 'qemu.binary').summary, /did not answer in time/);
  assert.equal(report.verdict.kind, 'tcg-only');
  assert.match(report.verdict.text, /could not tell/);
});
