// The reports a real PowerPC Linux guest sent from each catalog profile (npm run test:guest with
// TALOS_GUEST_RECORD=1, tests/guest), replayed against the catalog as it is now: a change to a
// profile that contradicts what the real guest saw fails here. PROFILE-kvm.json is the same guest
// under KVM-PR in the POWER9 box (tests/e2e/power9/scenarios/guest-kvm.test.ts), with QEMU's own
// word over QMP that it ran KVM.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OS_CATALOG, type OsEntry } from '../../src/guests/catalog.js';
import { REPO } from '../helpers/cli.js';
import { checkRecord, inputDevices, reportedPvr, type ProfileRecord } from '../guest/lib/report.js';

const DIR = join(REPO, 'tests', 'fixtures', 'guest-reports');
const CPU_HELP = readFileSync(join(DIR, 'qemu-7.2-cpu-help.txt'), 'utf8');
const all = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as ProfileRecord);
/** Under TCG here (npm run test:guest), one per profile. */
const records = new Map(all.filter((r) => r.accel === 'tcg').map((r) => [r.profile, r] as const));
/** Under KVM-PR in the POWER9 box (tests/e2e/power9/scenarios/guest-kvm.test.ts). */
const kvmRecords = all.filter((r) => r.accel === 'kvm');

describe('recorded test-guest reports agree with the catalog', () => {
  it('every catalog profile has a recorded report from a real guest', () => {
    assert.deepEqual(OS_CATALOG.map((o) => o.id).filter((id) => !records.has(id)), []);
  });

  for (const os of OS_CATALOG) {
    it(`${os.id}: the real guest saw what the profile promises`, { skip: records.has(os.id) ? false : 'no recorded report' }, () => {
      assert.deepEqual(checkRecord(os, records.get(os.id)!, CPU_HELP), []);
    });
  }

  it('a profile edited against the evidence fails the replay', () => {
    const tiger = OS_CATALOG.find((o) => o.id === '10.4')!;
    const os9 = OS_CATALOG.find((o) => o.id === 'os9')!;
    const edits: Array<[OsEntry, Partial<OsEntry>, RegExp]> = [
      [tiger, { via: 'cuda' }, /ADB keyboard and mouse \(CUDA\) promised/],
      [tiger, { pointer: 'grab' }, /USB tablet present, the profile's pointer is grab/],
      [os9, { pointer: 'usb-tablet' }, /USB tablet absent/],
      [tiger, { tcg: { cpus: ['g3'], defaultCpu: 'g3' } }, /PVR 000c0209, QEMU's g3 is 00080301/],
      [tiger, { ramMb: 2048 }, /ran with 1024 MiB, the profile says 2048/],
      [tiger, { resolution: '800x600x32' }, /framebuffer 1024,768, expected 800,600/],
    ];
    for (const [os, edit, why] of edits) {
      const rec = records.get(os.id);
      if (!rec) continue;
      const problems = checkRecord({ ...os, ...edit } as OsEntry, rec, CPU_HELP);
      assert.ok(problems.some((p) => why.test(p)), `${os.id} with ${JSON.stringify(edit)}: ${problems.join('\n')}`);
    }
  });

  // None yet: the POWER9 box has not seen the guest report under KVM-PR (docs/guests.md says what it saw).
  const noKvm = kvmRecords.length ? false : 'no record under KVM-PR yet (tests/e2e/power9/scenarios/guest-kvm.test.ts records one)';

  it('a TCG record presented as a KVM-PR one is refused: the profile\'s KVM-PR CPU, QEMU\'s own answer over QMP', () => {
    const tiger = OS_CATALOG.find((o) => o.id === '10.4')!;
    const os9 = OS_CATALOG.find((o) => o.id === 'os9')!;
    const asKvm = (r: ProfileRecord, qmpAccel?: string[]): ProfileRecord => ({ ...r, accel: 'kvm', ...(qmpAccel ? { qmpAccel } : {}) });
    const problems = checkRecord(tiger, asKvm(records.get('10.4')!), CPU_HELP);
    assert.ok(problems.some((p) => /ran with CPU g4, the profile's KVM-PR default is g3/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /QEMU's accelerator over QMP: undefined/.test(p)), problems.join('\n'));
    const said = checkRecord(tiger, asKvm(records.get('10.4')!, ['kvm', 'tcg']), CPU_HELP);
    assert.ok(said.some((p) => /QEMU's accelerator over QMP: \["kvm","tcg"\]/.test(p)), said.join('\n'));
    const nine = checkRecord(os9, asKvm(records.get('os9')!, ['kvm', 'kvm']), CPU_HELP);
    assert.ok(nine.some((p) => /ran under KVM-PR, which the profile does not allow/.test(p)), nine.join('\n'));
  });

  it('a profile that allows KVM-PR has a record from the real guest under KVM-PR (the POWER9 box), and it agrees with the catalog', { skip: noKvm }, () => {
    for (const r of kvmRecords) {
      const os = OS_CATALOG.find((o) => o.id === r.profile);
      assert.ok(os, `${r.profile} is a catalog profile`);
      assert.deepEqual(checkRecord(os, r, CPU_HELP), []);
    }
  });

  it('a KVM-PR record contradicted by the catalog fails the replay', { skip: noKvm }, () => {
    for (const r of kvmRecords) {
      const os = OS_CATALOG.find((o) => o.id === r.profile)!;
      const edits: Array<[Partial<OsEntry>, RegExp]> = [
        [{ kvm: { ...os.kvm, works: false } }, /ran under KVM-PR, which the profile does not allow/],
        [{ kvm: { ...os.kvm, cpus: ['7410'], defaultCpu: '7410' } }, /the profile's KVM-PR default is 7410/],
      ];
      for (const [edit, why] of edits) {
        const problems = checkRecord({ ...os, ...edit } as OsEntry, r, CPU_HELP);
        assert.ok(problems.some((p) => why.test(p)), `${r.profile} with ${JSON.stringify(edit)}: ${problems.join('\n')}`);
      }
      // QEMU's own answer is part of the evidence: a record where QMP said TCG is refused.
      const tcgSaid = checkRecord(os, { ...r, qmpAccel: ['kvm', 'tcg'] }, CPU_HELP);
      assert.ok(tcgSaid.some((p) => /QEMU's accelerator over QMP/.test(p)), tcgSaid.join('\n'));
      // A PVR other than QEMU's for the KVM-PR CPU (e.g. the TCG default's) is refused.
      const g4 = r.reports.map((x) => ({ ...x, cpuinfo: x.cpuinfo.replace(/\(pvr [0-9a-f]{4} [0-9a-f]{4}\)/, '(pvr 000c 0209)') }));
      assert.ok(checkRecord(os, { ...r, reports: g4 }, CPU_HELP).some((p) => /PVR 000c0209/.test(p)));
    }
  });

  it('the reports parse as the kernel wrote them', () => {
    for (const r of all) {
      for (const rep of r.reports) {
        assert.match(rep.cpuinfo, /^processor\s*: 0$/m);
        assert.ok(reportedPvr(rep.cpuinfo));
        assert.ok(inputDevices(rep.inputDevices ?? '').length >= 2, `${r.profile}: input devices`);
      }
    }
  });
});
