// Issue 24: a Debian 13 host's userland (Debian 13's QEMU 10.0 and Node 20, from Debian's archive,
// unpacked) running the PR journey on talos-mac's cached 6.1 PR kernel: setup --yes → reboot →
// setup → demo --accel kvm under KVM-PR, as QEMU 10.0 itself says over QMP (query-kvm: 10.0 has no
// query-accelerators, and talos-mac's own check falls back to query-kvm there: src/launch/qmp.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KERNELS } from '../kernels.js';
import { cmd } from '../lib/box.js';
import { prKernelSkip } from '../lib/pr-kernel.js';
import { doctorOf, prJourney, probeOf } from '../lib/pr-journey.js';
import { demoDisk } from '../lib/pr-scenario.js';
import { userland } from '../lib/userland.js';

const missing = await prKernelSkip(KERNELS.debian12.fetch);
const row = KERNELS.debian13Userland;

test("Debian 13's userland (QEMU 10.0, Node 20) on the PR kernel: setup, reboot, setup, demo under KVM-PR confirmed by QEMU 10.0", { skip: missing ?? false }, async (t) => {
  const disk = await demoDisk();
  if ('missing' in disk) {
    t.skip(disk.missing);
    return;
  }
  const land = await userland('trixie');
  const { one, two } = await prJourney({
    label: 'debian13 userland journey',
    row,
    kernel: await row.fetch(),
    userland: land,
    disk: disk.data,
    boot1: [cmd('versions', ['sh', '-c', 'node --version; qemu-system-ppc --version | head -1; . /etc/os-release; echo "$PRETTY_NAME"'])],
  });
  const versions = one.command('versions').stdout;
  assert.match(versions, /^v20\./m, `Debian 13's Node 20: ${versions}`);
  assert.match(versions, /^QEMU emulator version 10\.0\./m, `Debian 13's QEMU 10.0: ${versions}`);
  assert.match(versions, /Debian GNU\/Linux 13 \(trixie\)/);
  assert.match(doctorOf(one, 'doctor').host.qemuVersion ?? '', /^10\.0\./, 'doctor sees QEMU 10.0');
  assert.match(doctorOf(two, 'doctor').host.qemuVersion ?? '', /^10\.0\./);
  assert.equal(doctorOf(two, 'doctor').verdict.kind, 'ready', doctorOf(two, 'doctor').verdict.text);
  const probe = probeOf(two, 'probe');
  assert.equal(probe.version?.major, 10, 'the demo ran on Debian 13\'s QEMU 10');
  assert.equal(probe.version?.minor, 0);
  assert.equal(probe.queryAccelerators, 'CommandNotFound', 'QEMU 10.0 has no query-accelerators (10.2+)');
});
