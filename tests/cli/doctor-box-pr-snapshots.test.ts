// The snapshots doctor --collect wrote inside the POWER9 box on talos-mac's own KVM-PR kernel
// (npm run test:power9, scenarios 3 and 4): replayed here. Present once the box has written them
// (TALOS_E2E_WRITE_FIXTURES=1); a missing one is a skip that says so, not a pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DoctorReportSchema } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { assertPrRadixVerdicts, assertReadyVerdicts } from '../e2e/power9/verdicts.js';

const BOXES = [
  { name: 'box-pr-6.1-radix', code: 1, assert: assertPrRadixVerdicts, what: 'PR kernel, radix: kvm_pr blocked by the MMU' },
  { name: 'box-pr-6.1-hash-ready', code: 0, assert: assertReadyVerdicts, what: 'PR kernel, hash, kvm_pr loaded: ready' },
] as const;

for (const box of BOXES) {
  const dir = join(SNAPSHOTS, box.name);
  test(`${box.name}: ${box.what}`, { skip: existsSync(dir) ? false : `${dir} not captured yet (TALOS_E2E_WRITE_FIXTURES=1 npm run test:power9)` }, async () => {
    const r = await runCli(['doctor', '--json', '--snapshot', dir]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, box.code);
    box.assert(DoctorReportSchema.parse(JSON.parse(r.stdout)));
  });
}
