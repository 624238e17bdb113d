// Files in (share: a folder as an HFS+ CD) and out (files ls/get), with the real xorriso, qemu-img,
// 7-Zip and QEMU (issue 13).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyOut, normalizeGuestPath } from '../../src/guests/copy-out.js';
import { listHfs, parseSlt, readHfsFile, run7z } from '../../src/guests/seven-zip.js';
import { buildBootImage, DEMO_MARKER } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { handStartedQemu, makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { HFS_FIXTURES, writeHfsFixture } from '../helpers/hfs-fixture.js';

const UTF8 = { ...process.env, LC_ALL: 'C.UTF-8' };
const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

/** A folder with what people share: text, binary, nested folders, a non-ASCII name, a link to a file inside. */
async function sampleFolder(dir: string): Promise<{ root: string; big: Buffer }> {
  const root = join(dir, 'for tiger');
  await mkdir(join(root, 'Docs', 'Deep'), { recursive: true });
  await writeFile(join(root, 'readme.txt'), 'hello from the host\n');
  const big = randomBytes(300_000);
  await writeFile(join(root, 'Docs', 'Deep', 'data.bin'), big);
  await writeFile(join(root, 'Docs', 'Résumé.txt'), 'é\n');
  await symlink('readme.txt', join(root, 'link-to-readme'));
  return { root, big };
}

describe('share NAME DIR: a folder as a read-only HFS+ CD', () => {
  let w: TestWorld;
  let folder: { root: string; big: Buffer };
  let image: string;
  before(async () => {
    w = await makeWorld('talos-share-');
    folder = await sampleFolder(w.dir);
    const r = await w.run(['create', 'tiger', '--os', 'tiger', '--disk-size', '32M']);
    assert.equal(r.code, 0, r.stderr);
    image = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'tiger-share.iso');
    // Something on the disk, so that launch boots it rather than asking for an installer.
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 64k', join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'tiger.qcow2')], { stdio: 'ignore' });
  });
  after(() => w.cleanup());

  it('builds the image, records it in the definition, reports the size', async () => {
    const r = await w.run(['share', 'tiger', folder.root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Shared .*for tiger with tiger as a read-only CD "for tiger": 4 files in 3 folders, 293\.0 KiB \(image [\d.]+ KiB, .*tiger-share\.iso\)/);
    assert.match(r.stdout, /1 link to files in the folder were copied as the files/);
    const def = await readFile(join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml'), 'utf8');
    assert.ok(def.includes(`share = "${image}"`), def);
    assert.ok(def.includes(`share_from = "${folder.root}"`), def);
    const show = await w.run(['share', 'tiger', '--json']);
    assert.deepEqual(JSON.parse(show.stdout), { guest: 'tiger', share: image, from: folder.root, live: null, live_protocol: null });
  });

  it("the shared folder's files are readable from the image with 7-Zip, byte for byte", async () => {
    const host = new LiveHost();
    const l = await listHfs(host, image);
    assert.equal(l.volume, 'for tiger');
    assert.equal(l.method, 'HFS+');
    const files = l.entries.filter((e) => e.kind === 'file').map((e) => e.path).sort();
    assert.ok(l.entries.some((e) => e.source === 'for tiger/Docs/Re\u0301sume\u0301.txt'), 'HFS+ keeps the name decomposed (NFD); the listing gives it in NFC');
    assert.deepEqual(files, ['Docs/Deep/data.bin', 'Docs/Résumé.txt', 'link-to-readme', 'readme.txt']);
    assert.equal(String(await readHfsFile(host, image, 'for tiger/readme.txt')), 'hello from the host\n');
    assert.equal(String(await readHfsFile(host, image, 'for tiger/link-to-readme')), 'hello from the host\n', 'the link is its file');
    // The binary file through extraction (readHfsFile is for text).
    const out = await mkdtemp(join(w.dir, 'x-'));
    // run7z: Debian 13's 7zip has 7z, not 7zz.
    assert.equal((await run7z(host, ['x', '-thfs', '-spd', `-o${out}`, '--', image, 'for tiger/Docs/Deep/data.bin'])).exitCode, 0);
    assert.ok((await readFile(join(out, 'for tiger', 'Docs', 'Deep', 'data.bin'))).equals(folder.big));
  });

  it('launch attaches it as a second CD: ide.1 unit 0 alone, unit 1 behind an installer CD', async () => {
    const alone = await w.run(['launch', 'tiger', '--print-cmd', '--json', '--display', 'none', '--accel', 'tcg']);
    assert.equal(alone.code, 0, alone.stderr);
    const argv = JSON.parse(alone.stdout) as string[];
    assert.ok(argv.includes(`file=${image},format=raw,media=cdrom,readonly=on,if=none,id=cd1`), argv.join(' '));
    assert.ok(argv.includes('ide-cd,drive=cd1,bus=ide.1,unit=0'));
    const cd = join(w.dir, 'install.iso');
    await writeFile(cd, 'installer');
    const c = await w.run(['create', 'inst', '--os', 'tiger', '--disk-size', '32M', '--cdrom', cd, '--force']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await w.run(['share', 'inst', folder.root])).code, 0);
    const both = JSON.parse((await w.run(['launch', 'inst', '--print-cmd', '--json', '--display', 'none', '--accel', 'tcg', '--force'])).stdout) as string[];
    assert.ok(both.includes('ide-cd,drive=cd0,bus=ide.1'));
    assert.ok(both.includes('ide-cd,drive=cd1,bus=ide.1,unit=1'));
  });

  it('a real QEMU boots the demo disk with a shared CD attached (TCG)', async () => {
    const demo = await buildBootImage(new LiveHost(), await mkdtemp(join(w.dir, 'demo-')), 'disk');
    const r = await w.run(['create', 'demo', '--os', 'tiger', '--disk', demo]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await w.run(['share', 'demo', folder.root])).code, 0);
    const boot = await w.run(['launch', 'demo', '--display', 'serial', '--accel', 'tcg', '--timeout', '120'], { timeoutMs: 150_000 });
    assert.equal(boot.code, 0, boot.stderr);
    assert.match(boot.stdout, new RegExp(`${DEMO_MARKER} booted from \\S+`));
  });

  it('--refresh picks up a change; --off detaches and deletes the image, never the folder', async () => {
    await writeFile(join(folder.root, 'new.txt'), 'added later\n');
    const r = await w.run(['share', 'tiger', '--refresh']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(String(await readHfsFile(new LiveHost(), image, 'for tiger/new.txt')), 'added later\n');
    const off = await w.run(['share', 'tiger', '--off']);
    assert.equal(off.code, 0, off.stderr);
    await assert.rejects(stat(image));
    assert.equal(await readFile(join(folder.root, 'new.txt'), 'utf8'), 'added later\n');
    const def = await readFile(join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml'), 'utf8');
    assert.doesNotMatch(def, /^share/m);
    const argv = JSON.parse((await w.run(['launch', 'tiger', '--print-cmd', '--json', '--display', 'none', '--accel', 'tcg'])).stdout) as string[];
    assert.ok(!argv.some((a) => a.includes('id=cd1')));
  });

  it("share and --off keep what a person wrote in the definition (comments, their own values), changing only the share lines", async () => {
    const file = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
    const mine = (await readFile(file, 'utf8')).replace(/^ram = \d+$/m, '# 1 GiB: Tiger is slow with less (my note)\nram = 1024');
    await writeFile(file, mine);
    assert.equal((await w.run(['share', 'tiger', folder.root])).code, 0);
    const shared = await readFile(file, 'utf8');
    assert.ok(shared.includes('# 1 GiB: Tiger is slow with less (my note)\nram = 1024'), shared);
    assert.equal(shared.split('\n').filter((l) => !/^share(_from)? = /.test(l)).join('\n'), mine.split('\n').filter((l) => !/^share(_from)? = /.test(l)).join('\n'), 'no other line changed');
    assert.equal((await w.run(['share', 'tiger', '--off'])).code, 0);
    assert.equal(await readFile(file, 'utf8'), mine.split('\n').filter((l) => !/^share(_from)? = /.test(l)).join('\n'));
  });

  const refusals: Array<[string, (root: string) => Promise<void>, RegExp]> = [
    ['a link out of the folder', (root) => symlink('/etc/passwd', join(root, 'passwd')), /"passwd": a link out of the folder \(to \/etc\/passwd\)/],
    ['a link to a folder (a loop)', (root) => symlink('.', join(root, 'loop')), /"loop": a link to a folder or special file/],
    ['a dangling link', (root) => symlink('nothing-here', join(root, 'dangling')), /"dangling": a link to nothing/],
    ['a FIFO', async (root) => void execFileSync('mkfifo', [join(root, 'pipe')]), /"pipe": a special file \(device, FIFO or socket\)/],
  ];
  for (const [what, make, re] of refusals) {
    it(`refuses ${what}, building nothing and changing no definition`, async () => {
      const root = await mkdtemp(join(w.dir, 'bad-'));
      await writeFile(join(root, 'ok.txt'), 'fine');
      await make(root);
      const def = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
      const before = await readFile(def, 'utf8');
      const r = await w.run(['share', 'tiger', root]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /Nothing was changed\./);
      assert.equal(await readFile(def, 'utf8'), before);
      await assert.rejects(stat(image));
    });
  }

  it("refuses a folder that holds talos-mac's data folder (the image would be written into what it is made of)", async () => {
    const r = await w.run(['share', 'tiger', w.env['XDG_DATA_HOME']!]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /would be written inside the folder it is made of/);
    await assert.rejects(stat(image));
  });

  it('refuses a folder that does not exist and a bad --label', async () => {
    const r = await w.run(['share', 'tiger', join(w.dir, 'nope')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"[^"]*nope" is not a folder/);
    const l = await w.run(['share', 'tiger', folder.root, '--label', 'a:b']);
    assert.equal(l.code, 2);
    assert.match(l.stderr, /--label "a:b": 1 to 27 characters and at most 32 bytes in UTF-8 .*no ":"/);
  });
});

describe('files NAME ls|get: copying out of a guest disk (7-Zip; the disk is never written)', () => {
  let w: TestWorld;
  let tree: string;
  let big: Buffer;
  let qcow2: string;
  before(async () => {
    w = await makeWorld('talos-files-');
    tree = join(w.dir, 'mac tree');
    await mkdir(join(tree, 'Users', 'me', 'Documents'), { recursive: true });
    big = randomBytes(1_500_000);
    await writeFile(join(tree, 'Users', 'me', 'Documents', 'report.bin'), big);
    await writeFile(join(tree, 'Users', 'me', 'Documents', 'note.txt'), 'note\n');
    await writeFile(join(tree, 'Users', 'me', 'Résumé.txt'), 'cv\n');
    await symlink('/etc/passwd', join(tree, 'Users', 'me', 'Documents', 'escape'));
    // A hard-disk image as a Mac has one: an Apple partition map with 512-byte blocks and an HFS+ volume (xorriso), as qcow2.
    const raw = join(w.dir, 'mac disk.img');
    // C.UTF-8: in the C locale xorriso writes non-ASCII names as "_" (a newcomer's shell on a fresh Debian sets no LANG).
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '512', '-V', 'Macintosh HD', '-o', raw, tree], { stdio: 'ignore', env: UTF8 });
    qcow2 = join(w.dir, 'mac disk.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, qcow2]);
    assert.equal((await w.run(['create', 'tiger', '--os', 'tiger', '--disk', qcow2])).code, 0);
    assert.equal((await w.run(['create', 'rawg', '--os', 'tiger', '--disk', raw, '--raw'])).code, 0);
  });
  after(() => w.cleanup());

  it('ls shows a folder of the volume (text and JSON)', async () => {
    const r = await w.run(['files', 'tiger', 'ls', '/Users/me/Documents']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Macintosh HD \(HFS\+\) \/Users\/me\/Documents$/m);
    assert.match(r.stdout, /^\s+1500000 .* report\.bin$/m);
    assert.match(r.stdout, /escape \(link, not copied\)$/m);
    const j = JSON.parse((await w.run(['files', 'tiger', 'ls', '/Users/me/Documents', '--json'])).stdout) as { volume: string; entries: Array<{ path: string; kind: string }> };
    assert.equal(j.volume, 'Macintosh HD');
    assert.deepEqual(j.entries.map((e) => [e.path, e.kind]).sort(), [['/Users/me/Documents/escape', 'link'], ['/Users/me/Documents/note.txt', 'file'], ['/Users/me/Documents/report.bin', 'file']]);
  });

  it('get copies a folder out of a qcow2 disk with the same bytes; the link is named, not followed; the disk is unchanged', async () => {
    const before = await sha(qcow2);
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const r = await w.run(['files', 'tiger', 'get', '/Users/me/Documents', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Copied 2 files \(1\.4 MiB\) in 1 folder from tiger:\/Users\/me\/Documents to .*\/Documents\./);
    assert.match(r.stdout, /Not copied \(links and special files\): \/Users\/me\/Documents\/escape\./);
    assert.ok((await readFile(join(dest, 'Documents', 'report.bin'))).equals(big));
    assert.equal(await readFile(join(dest, 'Documents', 'note.txt'), 'utf8'), 'note\n');
    assert.deepEqual((await readdir(join(dest, 'Documents'))).sort(), ['note.txt', 'report.bin']);
    assert.deepEqual(await readdir(dest), ['Documents'], 'no temporary folder is left behind');
    assert.equal(await sha(qcow2), before, 'the guest disk was not written');
  });

  it('a name HFS+ keeps decomposed arrives in NFC, as Linux names are', async () => {
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const r = await w.run(['files', 'tiger', 'get', '/Users/me/Résumé.txt', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(dest), ['R\u00e9sum\u00e9.txt']);
  });

  it('get from a raw disk (read in place) gives the same bytes, as a new name', async () => {
    const dest = join(await mkdtemp(join(w.dir, 'dest-')), 'copy.bin');
    const r = await w.run(['files', 'rawg', 'get', '/users/ME/documents/report.bin', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(dest)).equals(big), 'names match case-insensitively, as on HFS+');
  });

  it('a raw disk whose volume starts beyond 1 MiB is copied out first (7-Zip looks only near the start), 10,000 files listed', async () => {
    const t = join(w.dir, 'many');
    for (let d = 0; d < 10; d++) {
      await mkdir(join(t, `d${d}`), { recursive: true });
      for (let i = 0; i < 1000; i++) await writeFile(join(t, `d${d}`, `file-with-a-longish-name-${i}.txt`), `${d}/${i}`);
    }
    const deep = join(w.dir, 'deep.img');
    // The ISO 9660 directory records of 10,000 files come first: the HFS+ partition starts about 1.6 MiB in.
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '512', '-V', 'Deep', '-o', deep, t], { stdio: 'ignore', env: UTF8 });
    assert.equal((await w.run(['create', 'deep', '--os', 'tiger', '--disk', deep, '--raw'])).code, 0);
    const ls = await w.run(['files', 'deep', 'ls', '/d7']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stderr, /Copying .* of partition 3 \(Apple_HFS .*7-Zip finds a volume only near the start of a file/);
    assert.equal(ls.stdout.trim().split('\n').length, 1001);
    const dest = join(await mkdtemp(join(w.dir, 'dest-')), 'one.txt');
    assert.equal((await w.run(['files', 'deep', 'get', '/d9/file-with-a-longish-name-999.txt', dest])).code, 0);
    assert.equal(await readFile(dest, 'utf8'), '9/999');
  });

  it('never overwrites without --force; --force replaces a file', async () => {
    const dir = await mkdtemp(join(w.dir, 'dest-'));
    await writeFile(join(dir, 'note.txt'), 'mine');
    const r = await w.run(['files', 'tiger', 'get', '/Users/me/Documents/note.txt', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /1 path already exists: ".*note\.txt"\. Nothing was copied; talos-mac never overwrites/);
    assert.equal(await readFile(join(dir, 'note.txt'), 'utf8'), 'mine');
    const f = await w.run(['files', 'tiger', 'get', '/Users/me/Documents/note.txt', dir, '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(await readFile(join(dir, 'note.txt'), 'utf8'), 'note\n');
  });

  it('refuses paths with .., unknown paths, and a running guest', async () => {
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const dots = await w.run(['files', 'tiger', 'get', '/Users/../../etc', dest]);
    assert.equal(dots.code, 2);
    assert.match(dots.stderr, /has "\.\."/);
    const none = await w.run(['files', 'tiger', 'get', '/Users/nobody', dest]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /there is no "\/Users\/nobody" on the volume "Macintosh HD"/);
    const q = await handStartedQemu(qcow2);
    try {
      const r = await w.run(['files', 'tiger', 'get', '/Users', dest]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot read the disk of tiger: its disk ".*mac disk\.qcow2" is in use by a QEMU talos-mac did not start/);
    } finally {
      q.kill('SIGKILL');
      await new Promise((res) => q.once('exit', res));
    }
    assert.deepEqual(await readdir(dest), []);
  });

  it('without 7-Zip: says how to install it on this distribution', async () => {
    const bin = await mkdtemp(join(w.dir, 'bin-'));
    for (const tool of ['qemu-img', 'flock', 'cat']) {
      const at = execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim();
      await symlink(at, join(bin, tool));
    }
    const r = await w.run(['files', 'tiger', 'ls'], { env: { PATH: bin } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /7-Zip is not installed \(7zz or 7z\): talos-mac reads Mac OS X's HFS\+ volumes with it\. Install /);
    const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
    if (/^ID=debian$/m.test(osRelease)) assert.match(r.stderr, /Install it: sudo apt-get install 7zip/);
  });

  it('a disk with no Mac volume yet says so', async () => {
    assert.equal((await w.run(['create', 'blank', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    const r = await w.run(['files', 'blank', 'ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Mac volume on the disk of blank .*no Mac partition map or volume \(is Mac OS installed on it yet\?\)/);
  });

  it('a classic HFS disk (hformat, Mac OS Standard) says 7-Zip cannot read it, and how hfsutils can', async () => {
    const hfs = join(w.dir, 'os9.img');
    writeHfsFixture(HFS_FIXTURES.os9Hd, hfs);
    const q = join(w.dir, 'os9.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', hfs, q]);
    assert.equal((await w.run(['create', 'nine', '--os', 'os9', '--disk', q])).code, 0);
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const r = await w.run(['files', 'nine', 'get', '/Data.bin', dest]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is classic HFS \(Mac OS Standard\), which 7-Zip cannot read\. hfsutils can: qemu-img convert -O raw ".*os9\.qcow2" copy\.img; hmount copy\.img/);
    assert.deepEqual(await readdir(dest), [], 'nothing left behind');
  });
});

describe('copy-out planning (no 7-Zip run: refused before extraction)', () => {
  /** A 7-Zip -slt listing as 7-Zip 26.02 prints it, with names a damaged or hostile volume could hold. */
  const slt = (paths: Array<[string, boolean]>): string =>
    'Path = disk.img\nType = HFS\n\n----------\n' + paths.map(([p, dir]) => `Path = ${p}\nFolder = ${dir ? '+' : '-'}\nSize = 1\nMode = ${dir ? 'drwxr-xr-x' : '-rw-r--r--'}\n`).join('\n') + '\n';

  it('a name with .. inside the volume cannot land outside DEST', async () => {
    const dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'talos-slip-'));
    try {
      const listing = parseSlt(slt([['Vol', true], ['Vol/a', true], ['Vol/a/../../../evil', false]]));
      await assert.rejects(
        copyOut(new LiveHost(), '/nonexistent.img', listing, '/a', join(dir, 'dest'), { force: false, scratch: dir }),
        /the volume has a name that cannot be copied safely: "a\/\.\.\/\.\.\/\.\.\/evil"; nothing was copied/,
      );
      assert.deepEqual(await readdir(dir), [], 'nothing was created');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('guest paths: leading and trailing slashes, "." are fine; ".." is refused', () => {
    assert.equal(normalizeGuestPath('/Users/me/'), 'Users/me');
    assert.equal(normalizeGuestPath('./Users//me'), 'Users/me');
    assert.equal(normalizeGuestPath('/'), '');
    assert.throws(() => normalizeGuestPath('/Users/../..'), /has "\.\."/);
  });
});
