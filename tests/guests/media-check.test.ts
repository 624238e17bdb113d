// talos-mac media check on real images made by xorriso and qemu-img (issue 13): the demo disk,
// the demo CD, an ISO 9660 PC disc, random bytes, a Mac OS X-like disc with a SystemVersion.plist.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage, DEMO_MARKER } from '../../src/demo/image.js';
import { osForVersion, parseSystemVersion } from '../../src/guests/media-check.js';
import { LiveHost } from '../../src/host/live-host.js';
import { runCli } from '../helpers/cli.js';

const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

/** The layout of Apple's XML property lists (PropertyList-1.0.dtd), with the keys SystemVersion.plist has. */
const plist = (name: string, version: string, build: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>ProductBuildVersion</key>
	<string>${build}</string>
	<key>ProductName</key>
	<string>${name}</string>
	<key>ProductVersion</key>
	<string>${version}</string>
</dict>
</plist>
`;

interface Doc {
  verdict: string;
  bootable: boolean;
  looksLike: string | null;
  system?: { productVersion: string; productName: string; build: string };
  exit: number;
}

describe('media check FILE', () => {
  let dir: string;
  const check = (file: string, json = true) => runCli(['media', 'check', file, ...(json ? ['--json'] : [])]);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-media-check-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the demo disk (qcow2): a guest disk holding a bootable Mac volume → exit 0', async () => {
    const disk = await buildBootImage(new LiveHost(), dir, 'disk');
    const before = await sha(disk);
    const r = await check(disk);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Doc & { inside: { volumes: Array<{ name: string; blessed: boolean }> } };
    assert.equal(d.verdict, 'guest-disk');
    assert.equal(d.bootable, true);
    assert.deepEqual(d.inside.volumes.map((v) => [v.name, v.blessed]), [[DEMO_MARKER, true]]);
    const t = await check(disk, false);
    assert.match(t.stdout, /a qcow2 disk image \(a guest hard disk: use it with create --disk, not as a CD\)/);
    assert.match(t.stdout, /HFS\+ volume "TALOS-MAC-DEMO", blessed/);
    assert.match(t.stdout, /^Verdict: bootable/m);
    assert.equal(await sha(disk), before, 'read only');
  });

  it('the demo CD → a bootable Mac disc, exit 0', async () => {
    const r = await check(await buildBootImage(new LiveHost(), dir, 'cd'));
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Doc;
    assert.equal(d.verdict, 'mac-boot-disc');
    assert.equal(d.bootable, true);
    assert.equal(d.exit, 0);
  });

  it('an ISO 9660 PC disc → not a Mac disc, exit 1', async () => {
    const tree = join(dir, 'pc');
    await mkdir(tree);
    await writeFile(join(tree, 'README.TXT'), 'hello\n');
    const iso = join(dir, 'pc.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'PC_DISC', '-o', iso, tree], { stdio: 'ignore' });
    const r = await check(iso, false);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not a Mac disc — it is an ISO 9660 disc without an Apple partition map or HFS volume/);
    assert.match(r.stdout, /^Verdict: not a PowerPC Mac boot disc\.$/m);
  });

  it('random bytes → exit 1; a missing file and a folder → exit 2', async () => {
    const rnd = join(dir, 'random.bin');
    await writeFile(rnd, Buffer.concat([Buffer.from('random!!'), execFileSync('head', ['-c', '100000', '/dev/urandom'])]));
    const r = await check(rnd);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as Doc).verdict, 'not-mac');
    const missing = await check(join(dir, 'nope.iso'), false);
    assert.equal(missing.code, 2);
    assert.match(missing.stdout, /cannot be read: there is no such file/);
    assert.equal((await check(dir)).code, 2);
  });

  it('a Mac data disc (HFS+, nothing blessed) → a Mac volume but not bootable, exit 1', async () => {
    const tree = join(dir, 'data');
    await mkdir(tree);
    await writeFile(join(tree, 'photo.jpg'), 'not really');
    const iso = join(dir, 'data.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '2048', '-V', 'Photos', '-o', iso, tree], { stdio: 'ignore' });
    const r = await check(iso, false);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /a Mac disc with no blessed System folder \(not bootable\)/);
    assert.match(r.stdout, /^Verdict: a Mac volume, but not bootable/m);
  });

  it("a disc whose name does not say the version: SystemVersion.plist (read with 7-Zip) does", async () => {
    const tree = join(dir, 'osx');
    await mkdir(join(tree, 'System', 'Library', 'CoreServices'), { recursive: true });
    await writeFile(join(tree, 'System', 'Library', 'CoreServices', 'SystemVersion.plist'), plist('Mac OS X', '10.4.11', '8S165'));
    await writeFile(join(tree, 'System', 'Library', 'CoreServices', 'BootX'), 'stands in');
    const iso = join(dir, 'osx.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '2048', '-hfs-bless-by', 'p', '/System/Library/CoreServices', '-V', 'Mac OS X Install DVD', '-o', iso, tree], { stdio: 'ignore' });
    const r = await check(iso);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Doc;
    assert.deepEqual(d.system, { productName: 'Mac OS X', productVersion: '10.4.11', build: '8S165' });
    assert.equal(d.looksLike, '10.4', 'the plist settles what the name leaves open');
    const t = await check(iso, false);
    assert.match(t.stdout, /^System: Mac OS X 10\.4\.11 \(build 8S165\)\.$/m);
    assert.match(t.stdout, /Looks like Mac OS X 10\.4 Tiger: its \/System\/Library\/CoreServices\/SystemVersion\.plist says Mac OS X 10\.4\.11 \(8S165\)\. Create a guest for it: talos-mac create NAME --os 10\.4 --cdrom/);
  });

  it('parses SystemVersion.plist and maps versions to the catalog', () => {
    assert.deepEqual(parseSystemVersion(plist('Mac OS X Server', '10.3.9', '7W98')), { productName: 'Mac OS X Server', productVersion: '10.3.9', build: '7W98' });
    assert.deepEqual(parseSystemVersion('<plist><dict></dict></plist>'), {});
    assert.equal(osForVersion('10.5'), '10.5');
    assert.equal(osForVersion('10.2.8'), '10.2');
    assert.equal(osForVersion('10.6.8'), undefined);
    assert.equal(osForVersion(undefined), undefined);
  });

  it('refuses an unknown action', async () => {
    const r = await runCli(['media', 'inspect', '/dev/null']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown media action "inspect": use check/);
  });
});
