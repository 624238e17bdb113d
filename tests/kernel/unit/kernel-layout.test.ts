// Where a kernel's configuration is read from (src/distro/kernel-files.ts, Facts.kernelConfigOf): both the
// /boot copy and the package's /usr/lib/modules/REL/config, the distribution's layout first, and
// /proc/config.gz only for the running kernel. Files are the real ones of Debian unstable's
// linux-base-7.2.13+deb14-powerpc64le (tests/fixtures/snapshots/assembled-debian14-7.2-hash).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { runDoctor, readLikeSetup } from '../../../src/doctor/doctor.js';
import { RecordingHost } from '../../../src/host/recording-host.js';
import { SnapshotHost } from '../../../src/host/snapshot-host.js';
import { STEPS } from '../../../src/steps/registry.js';
import { kernelConfigPaths } from '../../../src/distro/kernel-files.js';
import { prAbility } from '../../../src/kernel/updates.js';
import { Facts } from '../../../src/host/facts.js';
import type { Provenance } from '../../../src/kernel/provenance.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const SNAP = join(REPO, 'tests', 'fixtures', 'snapshots', 'assembled-debian14-7.2-hash');
const REL = '7.2.13+deb14-powerpc64le';
const DEBIAN13 = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n';

describe('a kernel configuration where its distribution puts it', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'talos-layout-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  /** The assembled Debian 14 host, optionally with linux-base 4.17's /boot copy and another os-release. */
  async function host(name: string, o: { bootCopy?: boolean; osRelease?: string } = {}): Promise<Facts> {
    const root = join(dir, name);
    await cp(SNAP, root, { recursive: true });
    const m = JSON.parse(await readFile(join(root, 'talos-mac-snapshot.json'), 'utf8')) as { files: Record<string, string> };
    if (o.bootCopy) {
      await cp(join(root, 'usr/lib/modules', REL, 'config'), join(root, 'boot', `config-${REL}`));
      m.files[`/boot/config-${REL}`] = 'ok';
    }
    if (o.osRelease) await writeFile(join(root, 'etc/os-release'), o.osRelease);
    await writeFile(join(root, 'talos-mac-snapshot.json'), JSON.stringify(m));
    return new Facts(await SnapshotHost.open(root));
  }

  test('the order read: /boot first unless the layout is usr-lib-modules', () => {
    assert.deepEqual(kernelConfigPaths(REL), [`/boot/config-${REL}`, `/usr/lib/modules/${REL}/config`]);
    assert.deepEqual(kernelConfigPaths(REL, 'usr-lib-modules'), [`/usr/lib/modules/${REL}/config`, `/boot/config-${REL}`]);
  });

  test('only the package\'s config (no /boot copy, no /proc/config.gz): found for the running and the installed kernel', async () => {
    const f = await host('only-usr');
    const running = await f.kernelConfig();
    assert.ok(running.ok);
    assert.equal(running.source, `/usr/lib/modules/${REL}/config`);
    assert.equal((await prAbility(f, REL)).can, 'no');
    assert.match((await prAbility(f, REL)).why, /CONTEXT_TRACKING_USER=y/);
  });

  test('with linux-base 4.17\'s /boot copy: Debian 14 reads the file its package owns, Debian 13 /boot', async () => {
    const d14 = await (await host('copy-14', { bootCopy: true })).kernelConfigOf(REL);
    assert.ok(d14.ok && d14.source === `/usr/lib/modules/${REL}/config`);
    const d13 = await (await host('copy-13', { bootCopy: true, osRelease: DEBIAN13 })).kernelConfigOf(REL);
    assert.ok(d13.ok && d13.source === `/boot/config-${REL}`);
  });

  test('neither: the reason names every place looked, /proc/config.gz only for the running release', async () => {
    const f = await host('none');
    await rm(join(dir, 'none', 'usr'), { recursive: true });
    const running = await f.kernelConfigOf(REL);
    assert.ok(!running.ok);
    assert.equal(running.reason, `/usr/lib/modules/${REL}/config: does not exist; /boot/config-${REL}: does not exist; /proc/config.gz: does not exist`);
    const other = await f.kernelConfigOf('7.3-powerpc64le');
    assert.ok(!other.ok);
    assert.doesNotMatch(other.reason, /config\.gz/);
    assert.match((await prAbility(f, '7.3-powerpc64le')).why, /^its configuration cannot be read \(\/usr\/lib\/modules\/7\.3-powerpc64le\/config: does not exist/);
  });
});

test('doctor --collect on such a host records the configs where they were read, and the snapshot replays the same verdicts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talos-collect-'));
  try {
    const recorder = new RecordingHost(await SnapshotHost.open(join(REPO, 'tests', 'fixtures', 'snapshots', 'varied-debian14-update-7.3')));
    const first = await runDoctor(recorder, STEPS);
    await readLikeSetup(recorder, 'root');
    const out = join(dir, 'collected');
    await recorder.save(out, 'test');
    const m = JSON.parse(await readFile(join(out, 'talos-mac-snapshot.json'), 'utf8')) as { files: Record<string, string> };
    // The next boot's kernel and the rebuild's start: 7.3's config (the stock 7.2.13 is asked nothing).
    assert.equal(m.files['/usr/lib/modules/7.3-powerpc64le/config'], 'ok');
    assert.ok(existsSync(join(out, 'usr/lib/modules/7.3-powerpc64le/config')));
    // Debian 14's layout reads the package's file first: no /boot copy was asked for.
    assert.equal(m.files['/boot/config-7.3-powerpc64le'], undefined);
    assert.equal(m.files['/boot/config-7.2.13-talosmac'], 'ok');
    const again = await runDoctor(await SnapshotHost.open(out), STEPS);
    const kernel = (r: typeof first) => r.checks.filter((c) => c.id.startsWith('kernel.')).map((c) => `${c.id} ${c.state}: ${c.summary}`);
    assert.deepEqual(kernel(again), kernel(first));
    assert.ok(kernel(first).some((l) => /^kernel\.default-entry todo: the next boot runs 7\.3-powerpc64le, which cannot do KVM-PR/.test(l)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe("Debian 14's split packages, as their control fields say", () => {
  const FIX = join(REPO, 'tests', 'fixtures', 'debian-unstable');
  const CONFIG = `/usr/lib/modules/${REL}/config`;

  test('the linux-image meta pins linux-binary, linux-base and linux-modules at its own version: comparing metas compares the kernels', async () => {
    const paragraphs = (await readFile(join(FIX, 'control-7.2.13-1.txt'), 'utf8')).split(/\n\n+/).filter((p) => p.trim());
    const field = (p: string, f: string) => new RegExp(`^${f}: (.*)$`, 'm').exec(p)?.[1];
    const meta = paragraphs.find((p) => field(p, 'Package') === `linux-image-${REL}`)!;
    assert.equal(field(meta, 'Installed-Size'), '15');
    for (const part of ['binary', 'base', 'modules']) assert.ok(field(meta, 'Depends')!.includes(`linux-${part}-${REL} (= 7.2.13-1)`), part);
    for (const p of paragraphs) assert.equal(field(p, 'Version'), '7.2.13-1');
    // Only linux-base holds the config, only linux-binary the image; the meta holds neither.
    const list = async (pkg: string) => readFile(join(FIX, `contents-linux-${pkg}-${REL}.txt`), 'utf8');
    assert.match(await list('base'), new RegExp(` \\.${CONFIG.replace(/[+.]/g, '\\$&')}\\n`));
    assert.match(await list('binary'), new RegExp(` \\./usr/lib/modules/${REL.replace(/[+.]/g, '\\$&')}/vmlinuz\\n`));
    assert.doesNotMatch(await list('image'), /\/boot\/|\/usr\/lib\/modules\//);
  });

  test('a build from that config is recorded as from linux-base-REL (dpkg -S), and a newer meta counts as newer than it', async () => {
    const { debPackageOwning } = await import('../../../src/kernel/provenance.js');
    const { newerImages } = await import('../../../src/kernel/updates.js');
    const dir = await mkdtemp(join(tmpdir(), 'talos-owner-'));
    try {
      await cp(SNAP, dir, { recursive: true, force: true });
      const mf = join(dir, 'talos-mac-snapshot.json');
      const m = JSON.parse(await readFile(mf, 'utf8')) as { commands: unknown[] };
      // dpkg-query's answers in the shape dpkg 1.21 prints them ("PACKAGE: PATH"; the bare version).
      m.commands.push({ argv: ['dpkg-query', '-S', '--', CONFIG], exitCode: 0, stdout: `linux-base-${REL}: ${CONFIG}\n` });
      m.commands.push({ argv: ['dpkg-query', '-W', '-f=${Version}', '--', `linux-base-${REL}`], exitCode: 0, stdout: '7.2.13-1' });
      await writeFile(mf, JSON.stringify(m));
      const owner = await debPackageOwning(await SnapshotHost.open(dir), CONFIG);
      assert.deepEqual(owner, { name: `linux-base-${REL}`, version: '7.2.13-1' });
      const p = { source: { origin: '/usr/src/linux-source-7.2.tar.xz', upstream: '7.2.13' }, configFrom: { release: REL, path: CONFIG, package: owner } } as unknown as Provenance;
      const images = [
        { name: `linux-image-${REL}`, release: REL, version: '7.2.13-1' },
        { name: 'linux-image-7.3-powerpc64le', release: '7.3-powerpc64le', version: '7.3~rc7-1~exp1' },
        { name: 'linux-image-7.2.13-talosmac', release: '7.2.13-talosmac', version: '7.2.13-talosmac-1' },
      ];
      assert.deepEqual(newerImages(p, images, '-talosmac').map((i) => i.name), ['linux-image-7.3-powerpc64le']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
