// The reports a real PowerPC Linux guest sent from each catalog profile (npm run test:guest with
// TALOS_GUEST_RECORD=1, tests/guest), replayed against the catalog as it is now: a change to a
// profile that contradicts what the real guest saw fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OS_CATALOG, type OsEntry } from '../../src/guests/catalog.js';
import { REPO } from '../helpers/cli.js';
import { checkRecord, inputDevices, reportedPvr, type ProfileRecord } from '../guest/lib/report.js';

const DIR = join(REPO, 'tests', 'fixtures', 'guest-reports');
const CPU_HELP = readFileSync(join(DIR, 'qemu-7.2-cpu-help.txt'), 'utf8');
const records = new Map(
  readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const r = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as ProfileRecord;
      return [r.profile, r] as const;
    }),
);

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

  it('the reports parse as the kernel wrote them', () => {
    for (const r of records.values()) {
      for (const rep of r.reports) {
        assert.match(rep.cpuinfo, /^processor\s*: 0$/m);
        assert.ok(reportedPvr(rep.cpuinfo));
        assert.ok(inputDevices(rep.inputDevices ?? '').length >= 2, `${r.profile}: input devices`);
      }
    }
  });
});
