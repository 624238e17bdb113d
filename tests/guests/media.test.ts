// What a file is, from real images made by the real tools: xorriso, qemu-img, hfsutils' hformat (a captured volume: tests/fixtures/hfs) (issues 12, 13).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage, DEMO_MARKER } from '../../src/demo/image.js';
import { guessOs, inspectMedia, summarizeMedia, type MediaReport } from '../../src/guests/media.js';
import { LiveHost } from '../../src/host/live-host.js';
import { HFS_FIXTURES, writeHfsFixture } from '../helpers/hfs-fixture.js';


async function fingerprint(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.size} ${s.mtimeMs} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
}

/** inspectMedia, checking it left the file as it was. */
async function inspect(path: string): Promise<MediaReport> {
  const before = await fingerprint(path);
  const r = await inspectMedia(path);
  assert.equal(await fingerprint(path), before, 'inspecting changed the file');
  assert.ok(r.bytesRead < 64 * 1024, `read ${r.bytesRead} bytes`);
  return r;
}

async function mkisofs(dir: string, out: string, args: string[]): Promise<string> {
  const tree = join(dir, 'pc-tree');
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, 'README.TXT'), 'hello\n');
  const path = join(dir, out);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', ...args, '-o', path, tree], { stdio: 'ignore' });
  return path;
}

describe('media: is it a PowerPC Mac boot disc? (real images)', () => {
  let dir: string;
  let demoCd: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-media-'));
    demoCd = await buildBootImage(new LiveHost(), dir, 'cd');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("talos-mac's demo CD: an APM with 2048-byte blocks, a blessed HFS+ volume → mac-boot-disc", async () => {
    const r = await inspect(demoCd);
    assert.equal(r.verdict, 'mac-boot-disc', r.reason);
    assert.equal(r.apm?.blockSize, 2048);
    const types = r.apm!.partitions.map((p) => p.type);
    assert.ok(types.includes('Apple_partition_map') && types.includes('Apple_HFS'), types.join());
    const hfs = r.apm!.partitions.find((p) => p.type === 'Apple_HFS')!;
    assert.equal(hfs.volume?.kind, 'hfs+');
    assert.equal(hfs.volume?.offset, hfs.startBlock * 2048);
    assert.equal(hfs.volume?.name, DEMO_MARKER);
    assert.equal(hfs.volume?.nameFrom, 'catalog');
    assert.equal(hfs.volume?.blessed, true, 'xorriso -hfs-bless-by p blesses /System');
    assert.equal(r.iso?.volumeId, DEMO_MARKER);
    assert.equal(r.looksLike, undefined);
    assert.match(r.why, /the disc does not say/);
    assert.match(summarizeMedia(r), /a PowerPC Mac boot disc .*Apple partition map \(2048-byte blocks\) with HFS\+.*HFS\+ volume "TALOS-MAC-DEMO", blessed/);
  });

  it("the demo disk: its qcow2 → guest-disk; converted to raw → an APM with 512-byte blocks → mac-boot-disc", async () => {
    const qcow2 = await buildBootImage(new LiveHost(), dir, 'disk');
    const q = await inspect(qcow2);
    assert.equal(q.verdict, 'guest-disk');
    assert.equal(q.qcow2?.version, 3);
    assert.match(q.reason, /qcow2 disk image .*not a disc.*qemu-img convert/);
    assert.deepEqual(q.volumes, []);
    const raw = join(dir, 'demo-disk.raw');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'raw', qcow2, raw]);
    const r = await inspect(raw);
    assert.equal(r.verdict, 'mac-boot-disc', r.reason);
    assert.equal(r.apm?.blockSize, 512);
    assert.equal(r.volumes[0]?.name, DEMO_MARKER);
  });

  it('a qcow2 from qemu-img create → guest-disk, with its virtual size', async () => {
    const path = join(dir, 'blank.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '16M']);
    const r = await inspect(path);
    assert.equal(r.verdict, 'guest-disk');
    assert.equal(r.qcow2?.virtualSize, 16 * 1024 * 1024);
    assert.equal(r.qcow2?.backingFile, false);
    assert.match(summarizeMedia(r), /a guest disk image/);
  });

  it('an ISO 9660 PC disc (xorriso without -hfsplus) → not-mac, with its volume id', async () => {
    const r = await inspect(await mkisofs(dir, 'pc.iso', ['-V', 'PC_DATA_DISC']));
    assert.equal(r.verdict, 'not-mac', r.reason);
    assert.equal(r.apm, undefined);
    assert.deepEqual(r.volumes, []);
    assert.deepEqual(r.iso, { volumeId: 'PC_DATA_DISC', systemId: r.iso?.systemId, elTorito: false });
    assert.match(summarizeMedia(r), /not a Mac disc.*ISO 9660 volume "PC_DATA_DISC"/);
  });

  it('an El Torito bootable PC disc → not-mac, says El Torito', async () => {
    const tree = join(dir, 'el-tree');
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, 'boot.img'), Buffer.alloc(2048, 0x90));
    const path = join(dir, 'eltorito.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-b', 'boot.img', '-no-emul-boot', '-V', 'PCBOOT', '-o', path, tree], { stdio: 'ignore' });
    const r = await inspect(path);
    assert.equal(r.verdict, 'not-mac');
    assert.equal(r.iso?.elTorito, true);
    assert.match(r.reason, /El Torito/);
  });

  it('a hybrid named "Mac OS X Install Disc 1" → mac-boot-disc, and which Mac OS X is ambiguous', async () => {
    const r = await inspect(await mkisofs(dir, 'osx.iso', ['-hfsplus', '-V', 'Mac OS X Install Disc 1']));
    assert.equal(r.verdict, 'mac-boot-disc');
    assert.equal(r.volumes[0]?.name, 'Mac OS X Install Disc 1');
    assert.equal(r.looksLike, undefined);
    assert.deepEqual(r.candidates, ['10.0', '10.1', '10.2', '10.3', '10.4', '10.5']);
    assert.match(summarizeMedia(r), /says Mac OS X but not which version/);
  });

  it('random bytes → not-mac', async () => {
    const path = join(dir, 'random.bin');
    // Random, except the first bytes are fixed not to spell a signature by chance.
    await writeFile(path, Buffer.concat([Buffer.from('random!!'), execFileSync('head', ['-c', '200000', '/dev/urandom'])]));
    const r = await inspect(path);
    assert.equal(r.verdict, 'not-mac', r.reason);
    assert.match(r.reason, /no Apple partition map, HFS\/HFS\+ volume, ISO 9660 descriptor or qcow2 header/);
  });

  it('a 64 GiB sparse file → not-mac from a few small reads; the demo CD at the start of one is still found', async () => {
    const empty = join(dir, 'huge-empty.img');
    await writeFile(empty, '');
    await truncate(empty, 64 * 2 ** 30);
    const r = await inspectMedia(empty);
    assert.equal(r.verdict, 'not-mac');
    assert.equal(r.size, 64 * 2 ** 30);
    assert.ok(r.bytesRead <= 8192, `read ${r.bytesRead} bytes`);
    const huge = join(dir, 'huge-cd.img');
    await copyFile(demoCd, huge);
    await truncate(huge, 64 * 2 ** 30);
    const h = await inspectMedia(huge);
    assert.equal(h.verdict, 'mac-boot-disc');
    assert.ok(h.bytesRead < 64 * 1024, `read ${h.bytesRead} bytes`);
  });

  it('an empty file → unknown, and says it is empty', async () => {
    const path = join(dir, 'empty.iso');
    await writeFile(path, '');
    const r = await inspect(path);
    assert.equal(r.verdict, 'unknown');
    assert.match(r.reason, /is empty/);
  });

  it('a classic HFS volume from hformat "Mac OS 9.2.2" → mac-boot-disc, looks like os9', async () => {
    const path = join(dir, 'os9.hfs');
    writeHfsFixture(HFS_FIXTURES.macOs922, path);
    const r = await inspect(path);
    assert.equal(r.verdict, 'mac-boot-disc', r.reason);
    assert.equal(r.apm, undefined);
    assert.equal(r.volumes.length, 1);
    assert.equal(r.volumes[0]?.kind, 'hfs');
    assert.equal(r.volumes[0]?.name, 'Mac OS 9.2.2');
    assert.equal(r.volumes[0]?.nameFrom, 'mdb');
    assert.equal(r.volumes[0]?.blessed, false, 'a fresh volume has no System folder');
    assert.equal(r.looksLike, 'os9');
    assert.match(summarizeMedia(r), /HFS volume without a partition map.*It looks like Mac OS 9/);
  });

  describe('paths that are not image files: a clear answer, no throw, no hang', () => {
    it('a missing path', async () => {
      const r = await inspectMedia(join(dir, 'no-such.iso'));
      assert.equal(r.verdict, 'unreadable');
      assert.match(r.reason, /no-such\.iso" cannot be read: there is no such file/);
      assert.match(summarizeMedia(r), /there is no such file\.$/);
    });
    it('a directory', async () => {
      const r = await inspectMedia(dir);
      assert.equal(r.verdict, 'unreadable');
      assert.match(r.reason, /is a directory, not an image file/);
    });
    it('a FIFO (never waits for a writer)', { timeout: 10_000 }, async () => {
      const fifo = join(dir, 'pipe');
      execFileSync('mkfifo', [fifo]);
      const r = await inspectMedia(fifo);
      assert.equal(r.verdict, 'unreadable');
      assert.match(r.reason, /is a FIFO \(named pipe\), not an image file/);
    });
    it('a character device (/dev/null)', async () => {
      const r = await inspectMedia('/dev/null');
      assert.equal(r.verdict, 'unreadable');
      assert.match(r.reason, /is a character device/);
    });
  });
});

describe('media: which Mac OS a volume name names', () => {
  const cases: Array<[string | undefined, string | undefined, string[]]> = [
    ['Mac OS 9.2.2', 'os9', ['os9']],
    ['Mac OS 9', 'os9', ['os9']],
    ['Mac OS X 10.4 Tiger', '10.4', ['10.4']],
    ['Mac OS X Install DVD 10.5', '10.5', ['10.5']],
    ['Panther Install', '10.3', ['10.3']],
    ['Mac OS X Server 1.2', 'rhapsody', ['rhapsody']],
    ['Mac OS X Server 10.4', '10.4', ['10.4']],
    ['Mac OS X Install Disc 1', undefined, ['10.0', '10.1', '10.2', '10.3', '10.4', '10.5']],
    ['Tiger or Leopard', undefined, ['10.4', '10.5']],
    ['Mac OS X 10.10', undefined, ['10.0', '10.1', '10.2', '10.3', '10.4', '10.5']],
    ['Mac OS 90', undefined, []],
    ['UBUNTU 22.04', undefined, []],
    ['', undefined, []],
    [undefined, undefined, []],
  ];
  for (const [name, id, candidates] of cases) {
    it(`${JSON.stringify(name)} → ${id ?? 'undefined'}`, () => {
      const g = guessOs(name);
      assert.equal(g.looksLike, id);
      assert.deepEqual(g.candidates, candidates);
      if (candidates.length === 0) assert.match(g.why, /the disc does not say/);
    });
  }
});
