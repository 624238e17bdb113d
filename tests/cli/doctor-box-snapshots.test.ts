// The snapshots `talos-mac doctor --collect` wrote inside the POWER9 box (npm run test:power9,
// tests/fixtures/README.md "box-*"): the diagnosis each real kernel got, replayed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DoctorReportSchema, type DoctorReport } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { assertDoctorVerdicts } from '../e2e/power9/verdicts.js';

async function doctor(snapshot: string): Promise<{ code: number | null; report: DoctorReport }> {
  const r = await runCli(['doctor', '--json', '--snapshot', join(SNAPSHOTS, snapshot)]);
  assert.equal(r.stderr, '', `no stderr expected, got: ${r.stderr}`);
  return { code: r.code, report: DoctorReportSchema.parse(JSON.parse(r.stdout)) };
}

const BOXES = [
  { name: 'box-debian12-6.1-radix', mmu: 'radix', release: /^6\.1\.0-\d+-powerpc64le$/ },
  { name: 'box-debian13-6.12-radix', mmu: 'radix', release: /^6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/ },
  { name: 'box-debian13-6.12-hash', mmu: 'hash', release: /^6\.12\.\d+\+deb13(\.\d+)?-powerpc64le$/ },
  // Debian unstable's split packages: the config only at /usr/lib/modules/REL/config (tests/e2e/power9/scenarios/debian14.test.ts).
  { name: 'box-debian14-7.2-hash', mmu: 'hash', release: /^7\.2\.\d+\+deb14-powerpc64le$/ },
] as const;

for (const box of BOXES) {
  test(`${box.name}: POWER9 PowerNV, ${box.mmu}, this kernel cannot do KVM-PR`, async () => {
    const { code, report } = await doctor(box.name);
    assert.equal(code, 1);
    assertDoctorVerdicts(report, box.mmu, box.release);
  });
}
