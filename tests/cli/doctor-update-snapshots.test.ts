// Issue 14: after the distribution updates its kernel. Snapshots varied from real ones by
// scripts/fixtures/make-update-snapshots.mjs (tests/fixtures/README.md says what is real).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DoctorReportSchema, type DoctorReport } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { SUDO } from '../helpers/sudo.js';
import { check } from '../e2e/power9/verdicts.js';

const UUID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const doctor = async (name: string): Promise<DoctorReport> => {
  const r = await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, name)]);
  assert.equal(r.stderr, '');
  return DoctorReportSchema.parse(JSON.parse(r.stdout));
};
const plan = async (name: string, ...flags: string[]) => {
  const r = await runCli(['setup', '--dry-run', '--no-guest', '--snapshot', join(SNAPSHOTS, name), ...flags]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return r.stdout;
};

describe('doctor after a distribution kernel update', () => {
  test('box host with its talos-mac kernel: no newer kernel, nothing to say but that it runs talos-mac\'s kernel', async () => {
    const r = await doctor('box-pr-6.1-hash-ready');
    // The collected snapshot has no /lib/modules listing: talos-mac's kernels are not known from it.
    assert.equal(check(r, 'kernel.distro-newer').state, 'not-applicable');
    assert.equal(r.ok, true);
  });

  test('a newer distribution kernel beside the talos-mac one: security fixes waiting, the default entry still right', async () => {
    const r = await doctor('varied-update-distro-newer');
    assert.equal(check(r, 'kernel.running-talosmac').state, 'done');
    assert.match(check(r, 'kernel.running-talosmac').summary, /running talos-mac's 6\.1\.192-talosmac \(built from linux-source-6\.1 6\.1\.192-3\)/);
    const newer = check(r, 'kernel.distro-newer');
    assert.equal(newer.state, 'todo');
    assert.equal(newer.status, 'warn');
    assert.match(newer.summary, /6\.1\.0-58-powerpc64le \(6\.1\.194-1\) is newer than linux-source-6\.1 6\.1\.192-3/);
    assert.deepEqual(newer.fix?.commands, ['talos-mac setup --build-kernel']);
    assert.equal(newer.fix?.bySetup, true);
    assert.match(newer.detail ?? '', /KVM_BOOK3S_64_PR=m, NO_HZ_FULL=n, VIRT_CPU_ACCOUNTING_GEN=n, LOCALVERSION=-talosmac/);
    assert.match(newer.detail ?? '', /the same host reduction/);
    // GRUB_DEFAULT=0 and Debian's 10_linux sorts with sort -V: 6.1.192-talosmac > 6.1.0-58-powerpc64le.
    assert.equal(check(r, 'kernel.default-entry').state, 'done');
    assert.match(check(r, 'kernel.default-entry').summary, /next boot runs 6\.1\.192-talosmac/);
    assert.equal(check(r, 'kernel.module-stale').state, 'not-applicable');
    // Warnings only: the host works now.
    assert.equal(r.ok, true);
  });

  test('the default entry switched to the distribution kernel: the next reboot loses KVM-PR, with the exact command', async () => {
    const r = await doctor('varied-update-default-switched');
    const d = check(r, 'kernel.default-entry');
    assert.equal(d.state, 'todo');
    assert.equal(d.status, 'warn');
    assert.match(d.summary, /next boot runs 6\.1\.0-58-powerpc64le, which cannot do KVM-PR .*CONTEXT_TRACKING_USER.*a reboot loses KVM-PR; 6\.1\.192-talosmac can/);
    assert.deepEqual(d.fix?.commands, [`sudo grub-set-default 'gnulinux-advanced-${UUID}>gnulinux-6.1.192-talosmac-advanced-${UUID}'`]);
    assert.equal(d.fix?.bySetup, true);
    assert.match(d.detail ?? '', /saved_entry in \/boot\/grub\/grubenv/);
  });

  test('a stale module in updates/ and a new kernel without one: both named, each with its rebuild', async () => {
    const r = await doctor('varied-update-module-stale');
    const m = check(r, 'kernel.module-stale');
    assert.equal(m.state, 'todo');
    assert.match(m.summary, /\/lib\/modules\/6\.1\.176\/updates\/talos-mac\/kvm-pr\.ko is built for 6\.1\.192-talosmac, not 6\.1\.176/);
    assert.match(m.summary, /6\.1\.177 \(the next boot\) has no kvm-pr/);
    assert.deepEqual(m.fix?.commands, ['talos-mac kernel build-module --release 6.1.177 --install', 'talos-mac kernel build-module --release 6.1.176 --install', 'talos-mac setup']);
    assert.equal(check(r, 'kernel.default-entry').state, 'blocked');
    assert.match(check(r, 'kernel.default-entry').summary, /next boot runs 6\.1\.177, which cannot do KVM-PR \(CONFIG_KVM_BOOK3S_64_PR=m, but no kvm-pr\.ko/);
    assert.equal(check(r, 'kernel.distro-newer').state, 'not-applicable');
  });

  test('a stock host (talos-mac built nothing) gets no update verdicts', async () => {
    const r = await doctor('debian12-6.1.0-50-hash');
    for (const id of ['kernel.running-talosmac', 'kernel.distro-newer', 'kernel.default-entry', 'kernel.module-stale', 'kernel.update-hook']) assert.equal(check(r, id).state, 'not-applicable', id);
  });
});

describe('setup --dry-run after a distribution kernel update', () => {
  test('newer distribution kernel: the rebuild waits for --build-kernel, then is planned from the new config with the same changes', async () => {
    const without = await plan('varied-update-distro-newer');
    assert.match(without, /Rebuild talos-mac's kernel from the distribution's newer kernel: .*security fixes are waiting/);
    assert.match(without, /setup does it only when asked: add --build-kernel/);
    assert.doesNotMatch(without, /would: rebuild/);
    const out = await plan('varied-update-distro-newer', '--build-kernel');
    assert.match(out, /^ {2}\d\. Rebuild talos-mac's kernel from the distribution's newer kernel/m);
    assert.match(out, /would: rebuild the KVM-PR kernel as 6\.1\.194-talosmac from \/boot\/config-6\.1\.0-58-powerpc64le \(the distribution's 6\.1\.194-1\) with the same changes and the same reduction/);
    assert.match(out, /would: install it beside 6\.1\.192-talosmac \(kept as a fallback entry\)/);
  });

  test('default entry switched: setup points GRUB\'s saved entry back at the talos-mac kernel', async () => {
    const out = await plan('varied-update-default-switched');
    assert.match(out, /^ {2}\d\. Boot a kernel that can do KVM-PR by default — (with sudo: )?run grub-set-default/m);
    assert.ok(out.includes(`would: $ ${SUDO}grub-set-default 'gnulinux-advanced-${UUID}>gnulinux-6.1.192-talosmac-advanced-${UUID}'`), out);
  });

  test('stale module: kvm-pr is rebuilt for the next boot\'s kernel and for the mismatched one', async () => {
    const out = await plan('varied-update-module-stale');
    assert.match(out, /would: build kvm\.ko \+ kvm-pr\.ko for 6\.1\.177 from \/boot\/config-6\.1\.177 and install them under \/lib\/modules\/6\.1\.177\/updates\/talos-mac/);
    assert.match(out, /would: build kvm\.ko \+ kvm-pr\.ko for 6\.1\.176 from \/boot\/config-6\.1\.176/);
  });

  test('--kernel-hook: the hook is planned; without it, it is only mentioned', async () => {
    assert.match(await plan('varied-update-distro-newer', '--kernel-hook'), /would: create \/etc\/kernel\/postinst\.d\/zz-talos-mac/);
    assert.doesNotMatch(await plan('varied-update-distro-newer'), /would: create \/etc\/kernel\/postinst\.d/);
  });
});
