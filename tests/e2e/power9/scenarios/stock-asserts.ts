import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DoctorReportSchema } from '../../../../src/doctor/report-schema.js';
import { assertDoctorVerdicts } from '../verdicts.js';
import { REPO } from '../lib/box.js';
import { receiveSnapshot } from '../lib/snapshots.js';
import type { StockBoot } from '../lib/stock-scenario.js';

export async function assertStockVerdicts(boot: StockBoot, o: { mmu: 'radix' | 'hash'; series: string; fixture: string }): Promise<void> {
  const { results, kernel } = boot;
  const doctor = results.command('doctor');
  assert.equal(doctor.stderr, 'snapshot written to /tmp/snapshot\n', 'doctor says only where the snapshot went on stderr');
  assert.equal(doctor.code, 1, 'doctor exits 1: problems');
  const report = DoctorReportSchema.parse(JSON.parse(doctor.stdout));
  assertDoctorVerdicts(report, o.mmu, kernel.release);

  const setup = results.command('setup');
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  assert.match(setup.stdout, /dry run: nothing will be changed/);
  // The stock kernel cannot do KVM-PR: without --build-kernel the MMU is left alone (no reboot for
  // nothing); -v still shows the boot configuration's state. Hash (from -append only): GRUB does not carry it yet.
  assert.match(setup.stdout, /\[todo\]\s+mmu\.next-boot:.*disable_radix/);
  if (o.mmu === 'hash') assert.match(setup.stdout, /mmu\.next-boot: .*the next boot would bring radix back/);
  assert.doesNotMatch(setup.stdout, /would: \$ update-grub/);
  assert.match(setup.stdout, /^Reboots: none\.$/m);
  assert.match(setup.stdout, /KVM-PR: this kernel cannot do it, and the hash MMU alone gains nothing/);
  assert.match(setup.stdout, /\[todo\]\s+kernel\.pr-support:.*a new kernel is needed/);
  assert.match(setup.stdout, /takes hours/, 'the plan says what the new kernel costs');
  assert.match(setup.stdout, new RegExp(`linux-source-${o.series.replace('.', '\\.')}\\b`));
  // With --build-kernel the kernel and the boot configuration share one reboot.
  const build = results.command('setup-build');
  assert.equal(build.code, 0, build.stdout + build.stderr);
  assert.match(build.stdout, /would: \$ update-grub/);
  assert.match(build.stdout, /^Then one reboot \(the boot configuration and the new kernel share it\)/m);

  // The kernel's own KVM module, found and loaded by kmod's modprobe (6.12 and 7.2: kvm-hv.ko.xz).
  const ext = o.series === '6.1' ? '.ko' : '.ko.xz';
  assert.match(results.command('modinfo-hv').stdout.trim(), new RegExp(`/kernel/arch/powerpc/kvm/kvm-hv${ext.replace('.', '\\.')}$`));
  assert.equal(results.command('modprobe-hv').code, 0, results.command('modprobe-hv').stderr);
  assert.match(results.command('modules').stdout, /^kvm_hv /m);
  const pr = results.command('modprobe-pr');
  assert.notEqual(pr.code, 0, 'the stock kernel has no kvm_pr');
  assert.match(pr.stderr, /kvm_pr not found/);

  // Scenario 6: the snapshot it collected gives the same diagnosis here.
  const snapshot = await receiveSnapshot(results, 'snapshot.tar.gz', o.fixture);
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'talos-mac.js'), 'doctor', '--json', '--snapshot', snapshot], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.stderr, '');
  const replay = DoctorReportSchema.parse(JSON.parse(r.stdout));
  assertDoctorVerdicts(replay, o.mmu, kernel.release);
  assert.deepEqual(
    replay.checks.map((c) => [c.id, c.status]),
    report.checks.map((c) => [c.id, c.status]),
    'every check has the same outcome from the snapshot as on the box',
  );
}
