// Debian unstable (the future Debian 14) lays a kernel out as its split packages install it: the
// config only at /usr/lib/modules/REL/config (linux-base-REL), no /boot/config-REL, no
// /proc/config.gz. assembled-debian14-7.2-hash is assembled from those packages' real files, not
// collected on a booted system (tests/fixtures/README.md; scripts/fixtures/make-debian14-snapshot.mjs).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DoctorReportSchema } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { SUDO_RE } from '../helpers/sudo.js';
import { assertDoctorVerdicts, check } from '../e2e/power9/verdicts.js';

const REL = '7.2.13+deb14-powerpc64le';
const SNAP = join(SNAPSHOTS, 'assembled-debian14-7.2-hash');
const CONFIG = `/usr/lib/modules/${REL}/config`;
const FIXTURES = join(SNAPSHOTS, '..', 'debian-unstable');

describe('Debian unstable 7.2, laid out as its packages install it', () => {
  test('the snapshot holds the package\'s own config (md5 as linux-base-REL\'s md5sums list it) and nothing under /boot', async () => {
    const md5 = createHash('md5').update(await readFile(join(SNAP, CONFIG))).digest('hex');
    const sums = await readFile(join(FIXTURES, `md5sums-linux-base-${REL}.txt`), 'utf8');
    assert.ok(sums.split('\n').includes(`${md5}  ${CONFIG.slice(1)}`), sums);
    const m = JSON.parse(await readFile(join(SNAP, 'talos-mac-snapshot.json'), 'utf8')) as { origin: string; files: Record<string, string> };
    assert.match(m.origin, /^assembled from package files, not collected on a booted system/);
    assert.equal(m.files[`/boot/config-${REL}`], 'missing');
    assert.equal(m.files['/proc/config.gz'], 'missing');
  });

  test('doctor: a new kernel is needed, for the reason its /usr/lib/modules config gives', async () => {
    const r = await runCli(['doctor', '--json', '--snapshot', SNAP]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 1);
    const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
    assertDoctorVerdicts(report, 'hash', REL);
    assert.equal(check(report, 'kernel.release').detail, `configuration: ${CONFIG}`);
    const pr = check(report, 'kernel.pr-support');
    assert.match(pr.summary, /CONTEXT_TRACKING_USER=y \(selected by NO_HZ_FULL=y\): a new kernel is needed/);
    assert.match(pr.detail ?? '', new RegExp(`^from ${CONFIG.replace(/[+.]/g, '\\$&')}:\\n(.*\\n)*  CONFIG_NO_HZ_FULL=y\\n`, 'm'));
  });

  test('setup --dry-run --build-kernel plans the build from that config and linux-source-7.2', async () => {
    const r = await runCli(['setup', '--dry-run', '--no-guest', '--build-kernel', '--snapshot', SNAP]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(r.stdout.includes(`would: build the kernel from ${CONFIG} with KVM-PR`), r.stdout);
    assert.match(r.stdout, new RegExp(`would: \\$ ${SUDO_RE}apt-get install -y --no-install-recommends linux-source-7\\.2\n`));
  });

  test('os-release without VERSION_ID (unstable, base-files 14.2) is the Debian 14 row, which reads /usr/lib/modules first', async () => {
    const { distroOf } = await import('../../src/distro/distro.js');
    const { parseOsRelease } = await import('../../src/parse/os-release.js');
    const d = distroOf(parseOsRelease(await readFile(join(FIXTURES, 'os-release'), 'utf8')));
    assert.equal(d.id, 'debian-14');
    assert.equal(d.kernelLayout, 'usr-lib-modules');
  });
});

// varied-debian14-update-7.3: talos-mac's 7.2.13-talosmac running; Debian unstable's 7.2.13 and
// experimental's 7.3~rc7 installed as split packages (configs from their linux-base packages only).
describe('the update checks on Debian 14\'s split kernel packages', () => {
  const UPDATE = join(SNAPSHOTS, 'varied-debian14-update-7.3');

  test('doctor: the newer linux-image meta is seen, its config read from /usr/lib/modules, the next boot loses KVM-PR', async () => {
    const r = await runCli(['doctor', '--json', '--snapshot', UPDATE]);
    assert.equal(r.stderr, '');
    const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
    assert.match(check(report, 'kernel.running-talosmac').summary, /running talos-mac's 7\.2\.13-talosmac \(built from linux-source-7\.2 7\.2\.13-1\)/);
    const newer = check(report, 'kernel.distro-newer');
    assert.equal(newer.state, 'todo');
    assert.match(newer.summary, /the distribution's 7\.3-powerpc64le \(7\.3~rc7-1~exp1\) is newer than linux-source-7\.2 7\.2\.13-1/);
    assert.match(newer.detail ?? '', /installed since: linux-image-7\.3-powerpc64le 7\.3~rc7-1~exp1\n/);
    assert.match(newer.detail ?? '', /the rebuild starts from \/usr\/lib\/modules\/7\.3-powerpc64le\/config with the same changes \(KVM_BOOK3S_64_PR=m, NO_HZ_FULL=n/);
    const d = check(report, 'kernel.default-entry');
    assert.equal(d.state, 'todo');
    assert.match(d.summary, /next boot runs 7\.3-powerpc64le, which cannot do KVM-PR \(it was built without KVM-PR: .*CONTEXT_TRACKING_USER=y .*\): a reboot loses KVM-PR; 7\.2\.13-talosmac can/);
    assert.equal(check(report, 'kernel.module-stale').state, 'not-applicable');
  });

  test('setup --dry-run --build-kernel plans the rebuild from the 7.3 config under /usr/lib/modules', async () => {
    const r = await runCli(['setup', '--dry-run', '--no-guest', '--build-kernel', '--snapshot', UPDATE]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /would: rebuild the KVM-PR kernel as 7\.3\.0-talosmac from \/usr\/lib\/modules\/7\.3-powerpc64le\/config \(the distribution's 7\.3~rc7-1~exp1\) with the same changes/);
  });
});

test('box-debian14-7.2-hash (collected in the POWER9 box on that kernel): the config was read from /usr/lib/modules, the package\'s own bytes', async () => {
  const box = join(SNAPSHOTS, 'box-debian14-7.2-hash');
  const m = JSON.parse(await readFile(join(box, 'talos-mac-snapshot.json'), 'utf8')) as { origin: string; files: Record<string, string> };
  assert.match(m.origin, /^collected by talos-mac doctor --collect/);
  assert.equal(m.files[CONFIG], 'ok');
  assert.deepEqual(Object.keys(m.files).filter((f) => f.startsWith('/boot/config')), []);
  const sums = await readFile(join(FIXTURES, `md5sums-linux-base-${REL}.txt`), 'utf8');
  assert.ok(sums.includes(createHash('md5').update(await readFile(join(box, CONFIG))).digest('hex')));
  const r = await runCli(['doctor', '--json', '--snapshot', box]);
  const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
  assert.equal(check(report, 'kernel.release').detail, `configuration: ${CONFIG}`);
});
