// Disks are owned, not just named; CD paths, disk sizes and broken definitions (issue 9, classes 2, 7, 9).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** Every file under dir with its size and mtime: "nothing changed" is this staying equal. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.path ?? '', e.name);
    const s = await stat(p).catch(() => undefined);
    out.push(`${p} ${e.isFile() ? `${s?.size} ${s?.mtimeMs}` : e.isFIFO() ? 'fifo' : e.isSymbolicLink() ? 'link' : 'dir'}`);
  }
  return out.sort();
}

describe('disks are owned, not just named (real files, real qemu-img)', () => {
  let w: TestWorld;
  let files: string;
  let qcow: string;
  const def = (name: string) => join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', `${name}.toml`);
  const newDisk = (name: string) => join(w.env['XDG_DATA_HOME']!, 'talos-mac', `${name}.qcow2`);
  before(async () => {
    w = await makeWorld();
    files = join(w.dir, 'files');
    await mkdir(join(files, 'a dir'), { recursive: true });
    await writeFile(join(files, 'notes.txt'), 'my precious notes\n');
    execFileSync('mkfifo', [join(files, 'pipe')]);
    await writeFile(join(w.dir, 'outside.img'), 'data outside the store\n');
    await symlink(join(w.dir, 'outside.img'), join(files, 'link-out'));
    qcow = join(files, 'mine.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '16M']);
    assert.equal((await w.run(['create', 'owner', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
  });
  after(() => w.cleanup());

  const refusals: Array<[string, () => string[], RegExp]> = [
    ['a text file as --disk', () => ['--disk', join(files, 'notes.txt')], /"[^"]*notes\.txt" is not a disk image format qemu-img knows[^]*say so with --raw/],
    ['a directory as --disk', () => ['--disk', join(files, 'a dir')], /--disk ".*a dir" is a directory, not an image file/],
    ['/dev/null as --disk', () => ['--disk', '/dev/null'], /--disk "\/dev\/null" is a character device, not an image file/],
    ['a FIFO as --disk (never opened: no hang)', () => ['--disk', join(files, 'pipe')], /--disk ".*pipe" is a FIFO \(named pipe\)/],
    ['an empty --disk', () => ['--disk', ''], /--disk "" is empty/],
    ["another guest's disk", () => ['--disk', newDisk('owner')], /--disk ".*owner\.qcow2" is already the disk of "owner": two guests writing one disk corrupt it\. Give --share-disk/],
    ["another guest's disk through a symlink", () => ['--disk', join(files, 'to-owner')], /is already the disk of "owner"/],
    ['--raw on a qcow2 image', () => ['--disk', qcow, '--raw'], /--raw given, but ".*mine\.qcow2" is a qcow2 image/],
    ['an empty --cdrom', () => ['--cdrom', ''], /--cdrom "" is empty/],
    ['a directory as --cdrom', () => ['--cdrom', join(files, 'a dir')], /--cdrom ".*a dir" is a directory/],
    ['a FIFO as --cdrom', () => ['--cdrom', join(files, 'pipe')], /--cdrom ".*pipe" is a FIFO/],
    ...['99999999T', '0', '-1', '1.5.5G', '99999999999999999999999999G', '3T', '512K', '20'].map(
      (size): [string, () => string[], RegExp] => [`--disk-size ${size}`, () => [`--disk-size=${size}`], /disk size .* from 1M to 2T/],
    ),
  ];
  for (const [what, args, re] of refusals) {
    it(`create refuses ${what}: exit 2, nothing written`, async () => {
      await symlink(newDisk('owner'), join(files, 'to-owner')).catch(() => undefined);
      const before = await snapshot(w.dir);
      const r = await w.run(['create', 'x', '--os', 'tiger', ...args()], { timeoutMs: 20_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.deepEqual(await snapshot(w.dir), before);
    });
  }

  it('a raw image is taken with --raw; a qcow2 image and a 1.5G new disk without', async () => {
    const raw = join(files, 'raw.img');
    await writeFile(raw, Buffer.alloc(1 << 20));
    const r = await w.run(['create', 'rawguest', '--os', 'tiger', '--disk', raw, '--raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(def('rawguest'), 'utf8'), /^disk_format = "raw"$/m);
    assert.equal((await w.run(['create', 'q', '--os', 'tiger', '--disk', qcow])).code, 0);
    const big = await w.run(['create', 'big', '--os', 'tiger', '--disk-size', '1.5G']);
    assert.equal(big.code, 0, big.stderr);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', newDisk('big')], { encoding: 'utf8' })) as { 'virtual-size': number };
    assert.equal(info['virtual-size'], 1.5 * 2 ** 30);
  });

  it('rm --delete-disk deletes only a disk talos-mac created: an adopted image stays', async () => {
    const r = await w.run(['rm', 'q', '--delete-disk', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--delete-disk: ".*mine\.qcow2" is not deleted: talos-mac did not create it[^]*without --delete-disk/);
    assert.ok(await stat(qcow));
    assert.ok(await stat(def('q')), 'nothing removed');
    const keep = await w.run(['rm', 'q']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.ok(await stat(qcow));
  });

  it('a shared disk (--share-disk) is never deleted while another guest uses it', async () => {
    const share = await w.run(['create', 'sharer', '--os', 'panther', '--disk', newDisk('owner'), '--share-disk']);
    assert.equal(share.code, 0, share.stderr);
    for (const [name, other] of [['owner', 'sharer'], ['sharer', 'owner']]) {
      const r = await w.run(['rm', name!, '--delete-disk', '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`owner\\.qcow2": it is also the disk of "${other}"`));
    }
    assert.equal((await w.run(['rm', 'sharer'])).code, 0);
    const del = await w.run(['rm', 'owner', '--delete-disk', '--yes']);
    assert.equal(del.code, 0, del.stderr);
    await assert.rejects(stat(newDisk('owner')));
  });

  it('rm --delete-disk never follows a symlink out, nor deletes a file put where its disk was', async () => {
    assert.equal((await w.run(['create', 'swapped', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    assert.equal((await w.run(['create', 'replaced', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    const outside = join(w.dir, 'outside.img');
    await unlink(newDisk('swapped'));
    await symlink(outside, newDisk('swapped'));
    await rename(newDisk('replaced'), join(w.dir, 'moved.qcow2'));
    await copyFile(qcow, newDisk('replaced'));
    for (const [name, why] of [['swapped', /is a symlink/], ['replaced', /talos-mac did not create it/]] as const) {
      const r = await w.run(['rm', name, '--delete-disk', '--yes']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
    }
    assert.equal(await readFile(outside, 'utf8'), 'data outside the store\n');
    assert.ok(await stat(newDisk('replaced')));
  });

  it('a definition that no longer parses can still be removed; its disk goes only with --delete-disk, when provably talos-mac\'s', async () => {
    for (const name of ['broken1', 'broken2']) assert.equal((await w.run(['create', name, '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    await writeFile(def('broken1'), 'this is [not toml\n');
    await writeFile(def('broken2'), (await readFile(def('broken2'), 'utf8')).replace(/^ram = .*$/m, 'ram = "lots"'));
    const keep = await w.run(['rm', 'broken1']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.match(keep.stdout, /Removed broken1 \(its definition did not parse\)\. Its disk is kept/);
    await assert.rejects(stat(def('broken1')));
    assert.ok(await stat(newDisk('broken1')));
    const del = await w.run(['rm', 'broken2', '--delete-disk', '--yes']);
    assert.equal(del.code, 0, del.stderr);
    await assert.rejects(stat(newDisk('broken2')));
    // broken1's disk, its definition gone, is adopted again: it is still the one talos-mac created.
    assert.equal((await w.run(['create', 'again', '--os', 'tiger', '--disk', newDisk('broken1')])).code, 0);
    await writeFile(def('again'), 'garbage = [\n');
    const del2 = await w.run(['rm', 'again', '--delete-disk', '--yes']);
    assert.equal(del2.code, 2, 'unparseable, and the disk was created for another guest: not provably its own');
    assert.ok(await stat(newDisk('broken1')));
  });

  it('launch refuses a disk or CD that became a directory, a FIFO or a device, before QEMU (no hang)', async () => {
    assert.equal((await w.run(['create', 'edited', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    const good = await readFile(def('edited'), 'utf8');
    const cases: Array<[string, string, RegExp]> = [
      ['cdrom', join(files, 'pipe'), /cdrom: ".*pipe" is a FIFO/],
      ['cdrom', join(files, 'a dir'), /cdrom: ".*a dir" is a directory/],
      ['disk', join(files, 'pipe'), /disk: ".*pipe" is a FIFO/],
      ['disk', '/dev/null', /disk: "\/dev\/null" is a character device/],
    ];
    try {
      for (const [field, path, re] of cases) {
        const text = field === 'cdrom' ? good.replace(/^# cdrom = .*$/m, `cdrom = ${JSON.stringify(path)}`) : good.replace(/^disk = .*$/m, `disk = ${JSON.stringify(path)}`);
        await writeFile(def('edited'), text);
        for (const extra of [['--print-cmd'], ['--display', 'none']]) {
          const r = await w.run(['launch', 'edited', ...extra], { timeoutMs: 20_000 });
          assert.equal(r.code, 2, `${field} ${path} ${extra.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, re);
          assert.doesNotMatch(r.stderr, /Starting edited/);
        }
      }
    } finally {
      await writeFile(def('edited'), good);
    }
  });
});
