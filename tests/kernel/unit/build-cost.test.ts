import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseKernelConfig } from '../../../src/parse/kconfig.js';
import { BuildProgress, buildRecordsFile, calibrationFrom, enabledOptions, estimateCost, readBuildRecords, recordBuild, type BuildRecord } from '../../../src/kernel/build-cost.js';
import { configRequirements } from '../../../src/kernel/preflight.js';
import { signingDecision } from '../../../src/kernel/signing.js';
import { distroOf } from '../../../src/distro/distro.js';

const fixtures = fileURLToPath(new URL('../../../../tests/fixtures/kernel/', import.meta.url));
const debian = async () => parseKernelConfig(await readFile(join(fixtures, 'debian12-6.1.0-50-powerpc64le.config'), 'utf8'))!;

const record = (o: Partial<BuildRecord> = {}): BuildRecord => ({
  when: '2026-12-02T00:25:56Z', release: '6.1.192-talosmac', objects: 1842, options: 1241, debugInfo: true, seconds: 1102, jobs: 2, cpus: 2, diskBytes: 372e6, ...o,
});

test('the estimate scales a recorded build of this machine by options, CPUs and jobs', async () => {
  const config = await debian();
  const n = enabledOptions(config);
  const r = estimateCost(config, { cpus: 4, jobs: 4, records: [record()] });
  assert.equal(r.objects, Math.round((1842 / 1241) * n));
  // 1102 s on 2 jobs for 1842 objects = 1.197 CPU-s per object; 4 jobs share them.
  assert.ok(Math.abs(r.seconds - (r.objects * (1102 * 2) / 1842) / 4) < 1);
  assert.match(r.text, /GB of disk and [\d.]+ (minutes|hours) with -j4 on 4 CPUs/);
  assert.match(r.text, /recorded on this machine/);
  // A record with the other debug-info choice is not used.
  assert.doesNotMatch(estimateCost(config, { cpus: 2, jobs: 1, records: [record({ debugInfo: false })] }).text, /recorded/);
});

test('a calibration is used when nothing is recorded, and says so', async () => {
  const cal = calibrationFrom([{ seconds: 10, bytes: 400_000 }, { seconds: 10, bytes: 400_000 }], 4);
  assert.ok(Math.abs(cal.cpuSecondsPerObject - 8 / (196 / 54)) < 1e-9);
  const r = estimateCost(await debian(), { cpus: 2, jobs: 1, records: [], calibration: cal });
  assert.match(r.basis, /compiling 2 of its objects here/);
});

test('builds are recorded atomically and read back; the file keeps the last 20', async () => {
  const home = await mkdtemp(join(tmpdir(), 'talos-mac-cost-'));
  try {
    const env = { XDG_CACHE_HOME: home };
    for (let i = 0; i < 22; i++) await recordBuild(record({ seconds: 100 + i }), env);
    const got = await readBuildRecords(env);
    assert.equal(got.length, 20);
    assert.equal(got.at(-1)!.seconds, 121);
    assert.equal(buildRecordsFile(env), join(home, 'talos-mac', 'kernel-builds.json'));
    assert.deepEqual((await readdir(join(home, 'talos-mac'))).filter((f) => f.includes('.tmp')), []);
    await writeFile(buildRecordsFile(env), '{ not json');
    assert.deepEqual(await readBuildRecords(env), [], 'a damaged file is no record, not a crash');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('progress counts objects, grows the total when passed, and says the time left once it has a rate', () => {
  const p = new BuildProgress(100);
  assert.equal(p.step('GEN Makefile', 0), '[0/~100] GEN Makefile');
  let line = '';
  for (let i = 0; i < 30; i++) line = p.step(`CC [M] drivers/x${i}.o`, Date.now() + 60_000);
  assert.match(line, /^\[30\/~100, about \d+ minutes left\] CC \[M\] drivers\/x29\.o$/);
  for (let i = 0; i < 80; i++) p.step(`CC kernel/y${i}.o`);
  assert.ok(p.step('LD vmlinux').startsWith('[110/~'));
});

test("pahole is required when the distribution's config records it, by the row's package name", async () => {
  const d = distroOf(new Map([['ID', 'debian'], ['VERSION_ID', '12']]));
  const reqs = configRequirements(d, await debian());
  assert.deepEqual(reqs.map((r) => [r.probe, r.package]), [[{ command: 'pahole' }, 'dwarves']]);
  assert.deepEqual(configRequirements(d, parseKernelConfig('CONFIG_PAHOLE_VERSION=0\n')!), []);
  // Debian 13's config compresses its modules with xz: modules_install needs it.
  assert.deepEqual(configRequirements(d, parseKernelConfig('CONFIG_MODULE_COMPRESS_XZ=y\n')!).map((r) => r.package), ['xz-utils']);
});

test("signing: Debian's MODULE_SIG=y config signs with a key made for this build; no MODULE_SIG, no key", async () => {
  const s = signingDecision(await debian(), '/b/linux');
  assert.equal(s.sign, true);
  assert.equal(s.key, '/b/linux/certs/signing_key.pem');
  assert.deepEqual(s.edits.map((e) => [e.key, e.op === 'set-str' ? e.value : e.op]), [['MODULE_SIG_KEY', 'certs/signing_key.pem'], ['MODULE_SIG_ALL', 'enable'], ['SYSTEM_TRUSTED_KEYS', '']]);
  assert.match(s.lines.join(' '), /PPC_SECURE_BOOT \(here off\).*not enforced/);
  const off = signingDecision(parseKernelConfig('# CONFIG_MODULE_SIG is not set\n')!, '/b/linux');
  assert.equal(off.sign, false);
  assert.deepEqual(off.edits, []);
  assert.match(off.lines[0]!, /off, as in the running kernel/);
});

test('without a terminal, a counted progress line is printed at most once a minute', async () => {
  const { plainEvents } = await import('../../../src/kernel/stages.js');
  const out: string[] = [];
  let t = 0;
  const emit = plainEvents((s) => out.push(s), () => t);
  const stage = { id: 'build', title: 'Build', resumable: true, run: async () => {} };
  emit({ kind: 'start', stage });
  t = 30_000;
  emit({ kind: 'progress', stage, target: '[10/~100] CC a.o' });
  t = 61_000;
  emit({ kind: 'progress', stage, target: 'CC b.o' });
  emit({ kind: 'progress', stage, target: '[11/~100, about 9 minutes left] CC b.o' });
  t = 90_000;
  emit({ kind: 'progress', stage, target: '[12/~100, about 9 minutes left] CC c.o' });
  assert.deepEqual(out, ['• Build…', '  [11/~100, about 9 minutes left] CC b.o']);
});
