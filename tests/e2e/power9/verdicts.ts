// The stock kernels' diagnosis (issue 10, scenarios 1 and 2): asserted on the box's own doctor, on
// the snapshot it collected, and by the fast suite on the checked-in box-* snapshots.
import assert from 'node:assert/strict';
import type { DoctorReport } from '../../../src/doctor/report-schema.js';

export const check = (report: DoctorReport, id: string) => {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} present`);
  return c;
};

/** The verdicts of issue 10's scenarios 1 and 2, on the box's own doctor and on the snapshot it collected. */
export function assertDoctorVerdicts(report: DoctorReport, mmu: 'radix' | 'hash', release: string | RegExp): void {
  assert.equal(report.ok, false);
  assert.equal(report.host.board, 'QEMU-emulated PowerNV');
  assert.equal(check(report, 'platform.machine').status, 'pass');
  assert.match(check(report, 'platform.machine').summary, /bare metal \(PowerNV/);
  assert.match(check(report, 'platform.cpu').summary, /POWER9/);
  const rel = check(report, 'kernel.release').summary.replace(/^Linux /, '');
  if (typeof release === 'string') assert.equal(rel, release);
  else assert.match(rel, release);
  assert.equal(report.host.mmu, mmu);
  assert.equal(check(report, 'mmu.active').status, mmu === 'radix' ? 'fail' : 'pass');
  assert.equal(report.host.kvmPr, 'new-kernel-needed');
  assert.equal(check(report, 'kernel.pr-support').status, 'fail');
  assert.match(report.host.kvmPrReason, /CONTEXT_TRACKING_USER=y.*NO_HZ_FULL/);
  assert.equal(check(report, 'kvm.pr-loaded').state, 'blocked');
  assert.equal(report.verdict.kind, 'problems');
  assert.match(report.verdict.text, /new kernel is needed/);
  if (mmu === 'radix') assert.match(report.verdict.text, /Run the hash MMU/);
  else assert.doesNotMatch(report.verdict.text, /hash MMU/);
  // The box has Debian's GRUB files: doctor reads the next boot's command line from grub.cfg.
  assert.match(check(report, 'mmu.next-boot').summary, /\/boot\/grub\/grub\.cfg/);
}


/** Scenario 3: talos-mac's PR kernel under radix: the kernel can do PR, the MMU stops kvm_pr. */
export function assertPrRadixVerdicts(report: DoctorReport): void {
  assert.equal(report.ok, false);
  assert.equal(report.host.board, 'QEMU-emulated PowerNV');
  assert.match(report.host.kernelRelease ?? '', /-talosmac$/);
  assert.equal(report.host.mmu, 'radix');
  assert.equal(check(report, 'mmu.active').status, 'fail');
  assert.equal(check(report, 'kernel.pr-support').status, 'pass', 'this kernel has KVM-PR');
  assert.equal(check(report, 'kvm.pr-loaded').state, 'blocked');
  assert.match(check(report, 'kvm.pr-loaded').summary, /cannot be while the radix MMU runs/);
  assert.match(report.verdict.text, /Run the hash MMU/);
  assert.doesNotMatch(report.verdict.text, /new kernel is needed/);
}

/** Scenario 4's second boot: hash MMU, kvm_pr loaded, /dev/kvm usable: ready. */
export function assertReadyVerdicts(report: DoctorReport): void {
  assert.equal(report.verdict.kind, 'ready', report.verdict.text);
  assert.equal(report.ok, true);
  assert.match(report.host.kernelRelease ?? '', /-talosmac$/);
  assert.equal(report.host.mmu, 'hash');
  assert.equal(report.host.kvmPr, 'ready');
  assert.equal(check(report, 'kvm.pr-loaded').status, 'pass');
}
