// The snapshots `talos-mac doctor --collect` wrote inside the POWER9 box (npm run test:power9,
// tests/fixtures/README.md "box-*"): the diagnosis each real kernel got, replayed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DoctorReportSchema, type DoctorReport } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';

async function doctor(snapshot: string): Promise<{ code: number | null; report: DoctorReport }> {
  const r = await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, snapshot)]);
  assert.equal(r.stderr, '', `no stderr expected, got: ${r.stderr}`);
  return { code: r.code, report: DoctorReportSchema.parse(JSON.parse(r.stdout)) };
}

const check = (report: DoctorReport, id: string) => {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} present`);
  return c;
};

const BOXES = [
  { name: 'box-debian12-6.1-radix', mmu: 'radix', release: /^6\.1\.0-\d+-powerpc64le$/ },
  { name: 'box-debian13-6.12-radix', mmu: 'radix', release: /^6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/ },
  { name: 'box-debian13-6.12-hash', mmu: 'hash', release: /^6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/ },
] as const;

for (const box of BOXES) {
  test(`${box.name}: POWER9 PowerNV, ${box.mmu}, this kernel cannot do KVM-PR`, async () => {
    const { code, report } = await doctor(box.name);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(report.host.board, 'QEMU-emulated PowerNV');
    assert.match(check(report, 'platform.machine').summary, /bare metal \(PowerNV/);
    assert.match(check(report, 'platform.cpu').summary, /POWER9/);
    assert.match(check(report, 'kernel.release').summary.replace(/^Linux /, ''), box.release);
    assert.equal(report.host.mmu, box.mmu);
    assert.equal(check(report, 'mmu.active').status, box.mmu === 'radix' ? 'fail' : 'pass');
    assert.match(check(report, 'mmu.next-boot').summary, /\/boot\/grub\/grub\.cfg/);
    assert.equal(report.host.kvmPr, 'new-kernel-needed');
    assert.equal(check(report, 'kernel.pr-support').status, 'fail');
    assert.match(report.host.kvmPrReason, /CONTEXT_TRACKING_USER=y.*NO_HZ_FULL/);
    assert.equal(check(report, 'kvm.pr-loaded').state, 'blocked');
    assert.equal(report.verdict.kind, 'problems');
    assert.match(report.verdict.text, /new kernel is needed/);
    if (box.mmu === 'radix') assert.match(report.verdict.text, /Run the hash MMU/);
    else assert.doesNotMatch(report.verdict.text, /hash MMU/);
  });
}
