// Debian unstable's (the future Debian 14's) stock 7.2 kernel, laid out as its split packages install
// it: the image from linux-binary-REL, the config ONLY at /usr/lib/modules/REL/config (linux-base-REL),
// no /boot/config-REL, no /proc/config.gz (no IKCONFIG). doctor must read that config, say a new
// kernel is needed and why, and `setup --dry-run --build-kernel` must plan the build from it. Its
// collected snapshot is box-debian14-7.2-hash (replayed by tests/cli/doctor-box-snapshots.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DoctorReportSchema } from '../../../../src/doctor/report-schema.js';
import { KERNELS } from '../kernels.js';
import { cmd } from '../lib/box.js';
import { bootStock } from '../lib/stock-scenario.js';
import { check } from '../verdicts.js';
import { assertStockVerdicts } from './stock-asserts.js';

test("Debian unstable's stock 7.2 kernel (split packages), hash: doctor reads /usr/lib/modules/REL/config, setup plans the build from it", async () => {
  const boot = await bootStock(KERNELS.debian14, 'hash', [
    cmd('boot-config', ['ls', '/boot']),
    cmd('setup-build', ['talos-mac', 'setup', '--dry-run', '--build-kernel']),
  ]);
  const rel = boot.kernel.release;
  const config = `/usr/lib/modules/${rel}/config`;
  assert.doesNotMatch(boot.results.command('boot-config').stdout, /config-/, 'no /boot/config-REL in the root');
  const report = DoctorReportSchema.parse(JSON.parse(boot.results.command('doctor').stdout));
  assert.equal(check(report, 'kernel.release').detail, `configuration: ${config}`);
  assert.ok((check(report, 'kernel.pr-support').detail ?? '').startsWith(`from ${config}:`));
  const plan = boot.results.command('setup-build');
  assert.equal(plan.code, 0, plan.stdout + plan.stderr);
  assert.ok(plan.stdout.includes(`would: build the kernel from ${config} with KVM-PR`), plan.stdout);
  await assertStockVerdicts(boot, { mmu: 'hash', series: '7.2', fixture: 'box-debian14-7.2-hash' });
});
