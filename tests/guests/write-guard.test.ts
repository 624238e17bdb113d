// Nothing lost, round 2 (issue 21, part A): every writer respects every guest's files; every path
// in a definition is checked at launch; share is serialised and its limits are in bytes; files get
// copies every name ls shows and leaves nothing behind when killed. Real files, qemu-img, xorriso,
// 7-Zip, QEMU and processes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { listHfs } from '../../src/guests/seven-zip.js';
import { LiveHost } from '../../src/host/live-host.js';
import { alive } from '../../src/launch/state.js';
import { BIN } from '../helpers/cli.js';
import { makeWorld, processesWith, runningQemuArgv, type TestWorld } from '../helpers/guest-env.js';

const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');
const which = (tool: string): string => execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A Mac volume as a hostile or foreign disk can hold it: xorriso builds an HFS+ volume (it turns a
 * newline into "_" and never stores two names equal after normalisation), then the catalog's
 * UTF-16 names are patched: "new_line.txt" → "new\nline.txt", "L.txt" → "\u212a.txt" (KELVIN
 * SIGN, whose NFC is "K": the same name as "K.txt" once normalised).
 */
async function craftedVolume(dir: string): Promise<string> {
  const tree = join(dir, 'crafted');
  await mkdir(join(tree, 'd'), { recursive: true });
  await writeFile(join(tree, 'd', 'new_line.txt'), 'one\n');
  await writeFile(join(tree, 'd', 'K.txt'), 'kay\n');
  await writeFile(join(tree, 'd', 'L.txt'), 'kelvin\n');
  const raw = join(dir, 'crafted.img');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '512', '-V', 'Crafted', '-o', raw, tree], { stdio: 'ignore' });
  const b = await readFile(raw);
  for (const [from, to] of [['new_line.txt', 'new\nline.txt'], ['L.txt', '\u212a.txt']] as const) {
    const f = Buffer.from(from, 'utf16le').swap16();
    const t = Buffer.from(to, 'utf16le').swap16();
    let hits = 0;
    for (let i = b.indexOf(f); i >= 0; i = b.indexOf(f, i + t.length), hits++) t.copy(b, i);
    assert.ok(hits > 0, `${from} is in the HFS+ catalog`);
  }
  await writeFile(raw, b);
  const qcow = join(dir, 'crafted.qcow2');
  execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, qcow]);
  return qcow;
}

describe('one guard for every writer: no command writes over or deletes a guest\'s disk or CD (--force included)', () => {
  let w: TestWorld;
  let macDisk: string;
  const data = (f: string) => join(w.env['XDG_DATA_HOME']!, 'talos-mac', f);
  const def = (name: string) => join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', `${name}.toml`);
  before(async () => {
    w = await makeWorld('talos-guard-');
    const tree = join(w.dir, 'mac tree');
    await mkdir(join(tree, 'Users', 'me'), { recursive: true });
    await writeFile(join(tree, 'Users', 'me', 'note.txt'), 'note\n');
    const raw = join(w.dir, 'mac.img');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-hfsplus', '-apm-block-size', '512', '-V', 'Macintosh HD', '-o', raw, tree], { stdio: 'ignore' });
    macDisk = join(w.dir, 'mac.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, macDisk]);
    assert.equal((await w.run(['create', 'mac', '--os', 'tiger', '--disk', macDisk])).code, 0);
    assert.equal((await w.run(['create', 'other', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
  });
  after(() => w.cleanup());

  it("files get --force refuses another guest's disk, the disk being read, and a hard link to a disk; nothing is written", async () => {
    const dir = await mkdtemp(join(w.dir, 'dest-'));
    await link(data('other.qcow2'), join(dir, 'note.txt'));
    const cases: Array<[string, string, RegExp]> = [
      ["another guest's disk as DEST", data('other.qcow2'), /will not write over ".*other\.qcow2": it is the disk of "other"/],
      ['the disk being read as DEST', macDisk, /will not write over ".*mac\.qcow2": it is the file being read/],
      ['a hard link to a disk inside DEST', dir, /will not write over ".*note\.txt": it is the disk of "other" \(the same file as ".*other\.qcow2"\)/],
    ];
    const before = { other: await sha(data('other.qcow2')), mac: await sha(macDisk) };
    for (const [what, dest, re] of cases) {
      const r = await w.run(['files', 'mac', 'get', '/Users/me/note.txt', dest, '--force']);
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, re, what);
      assert.match(r.stderr, /Nothing was changed\./);
    }
    assert.deepEqual({ other: await sha(data('other.qcow2')), mac: await sha(macDisk) }, before);
    assert.deepEqual(await readdir(dir), ['note.txt'], 'no temporary folder is left');
  });

  it("share never builds its image over another guest's disk, and share --off never deletes it", async () => {
    const folder = join(w.dir, 'to share');
    await mkdir(folder);
    await writeFile(join(folder, 'a.txt'), 'a\n');
    // A guest whose disk is where other's share image goes (a name chosen by hand).
    await writeFile(data('other-share.iso'), Buffer.alloc(1 << 20, 7));
    assert.equal((await w.run(['create', 'victim', '--os', 'tiger', '--disk', data('other-share.iso'), '--raw'])).code, 0);
    const disk = await sha(data('other-share.iso'));
    const defBefore = await readFile(def('other'), 'utf8');
    const r = await w.run(['share', 'other', folder]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /will not replace ".*other-share\.iso": it is also the disk of "victim"/);
    assert.equal(await sha(data('other-share.iso')), disk);
    assert.equal(await readFile(def('other'), 'utf8'), defBefore);
    // The share line set by hand to that path: --off must not delete the victim's disk.
    const edited = defBefore + `share = ${JSON.stringify(data('other-share.iso'))}\nshare_from = ${JSON.stringify(folder)}\n`;
    await writeFile(def('other'), edited);
    const off = await w.run(['share', 'other', '--off']);
    assert.equal(off.code, 2, off.stderr);
    assert.match(off.stderr, /will not delete ".*other-share\.iso": it is also the disk of "victim"/);
    assert.equal(await sha(data('other-share.iso')), disk);
    assert.equal(await readFile(def('other'), 'utf8'), edited);
    await writeFile(def('other'), defBefore);
    assert.equal((await w.run(['rm', 'victim'])).code, 0);
    await rm(data('other-share.iso'));
  });

  it("screenshot --force refuses a guest's disk as its FILE before asking QEMU anything", async () => {
    const png = join(w.dir, 'shot.png');
    await writeFile(png, Buffer.alloc(1 << 20, 1));
    assert.equal((await w.run(['create', 'pngdisk', '--os', 'tiger', '--disk', png, '--raw'])).code, 0);
    const before = await sha(png);
    const r = await w.run(['screenshot', 'mac', png, '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /will not write over ".*shot\.png": it is the disk of "pngdisk"/);
    assert.equal(await sha(png), before);
  });

  it("rm --delete-disk never deletes its disk while another guest has it as its CD", async () => {
    assert.equal((await w.run(['create', 'cdowner', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    const spare = join(w.dir, 'spare.img');
    await writeFile(spare, Buffer.alloc(1 << 20));
    assert.equal((await w.run(['create', 'cduser', '--os', 'tiger', '--disk', spare, '--raw', '--cdrom', data('cdowner.qcow2'), '--force'])).code, 0);
    const r = await w.run(['rm', 'cdowner', '--delete-disk', '--yes']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--delete-disk: will not delete ".*cdowner\.qcow2": it is also the CD \(cdrom\) of "cduser"/);
    assert.ok(await stat(data('cdowner.qcow2')));
    assert.ok(await stat(def('cdowner')), 'nothing removed');
  });

  it('launch checks the share line like disk and cdrom: elsewhere, or not a CD image, is refused before QEMU', async () => {
    const good = await readFile(def('other'), 'utf8');
    const text = data('other-share.iso');
    await writeFile(text, 'just some text, not a CD\n');
    const cases: Array<[string, RegExp]> = [
      [macDisk, /share: ".*mac\.qcow2" is not the image talos-mac makes for other \(.*other-share\.iso\)/],
      [text, /share: ".*other-share\.iso" holds no CD volume/],
    ];
    try {
      for (const [path, re] of cases) {
        await writeFile(def('other'), `${good}share = ${JSON.stringify(path)}\n`);
        for (const extra of [['--print-cmd'], ['--display', 'none']]) {
          const r = await w.run(['launch', 'other', ...extra], { timeoutMs: 20_000 });
          assert.equal(r.code, 2, `${path} ${extra.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, re);
        }
      }
    } finally {
      await writeFile(def('other'), good);
      await rm(text, { force: true });
    }
  });
});

describe('share: one at a time, limits in bytes, every bad input a clear refusal', () => {
  let w: TestWorld;
  let image: string;
  const def = () => join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'tiger.toml');
  const folder = async (name: string, files: Record<string, string> = { 'a.txt': 'a\n' }): Promise<string> => {
    const root = join(await mkdtemp(join(w.dir, 'f-')), name);
    await mkdir(root);
    for (const [f, text] of Object.entries(files)) await writeFile(join(root, f), text);
    return root;
  };
  const xorriso = which('xorriso');
  before(async () => {
    w = await makeWorld('talos-share2-');
    assert.equal((await w.run(['create', 'tiger', '--os', 'tiger', '--disk-size', '16M'])).code, 0);
    image = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'tiger-share.iso');
  });
  after(() => w.cleanup());

  it('two share of one guest at once (two real processes): the second is refused while the first builds; CD and definition agree', async () => {
    // xorriso as installed, two seconds late: the first share is still building when the second starts.
    await w.fakeProgram('xorriso', `sleep 2; exec ${xorriso} "$@"`);
    try {
      const first = await folder('First');
      const second = await folder('Second');
      const a = w.run(['share', 'tiger', first]);
      await sleep(700);
      const b = await w.run(['share', 'tiger', second]);
      const ra = await a;
      assert.equal(ra.code, 0, ra.stderr);
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, /another talos-mac share of tiger is running: try again when it has finished\. Nothing was changed\./);
      assert.match(await readFile(def(), 'utf8'), new RegExp(`^share_from = "${first.replaceAll('/', '\\/')}"$`, 'm'));
      assert.equal((await listHfs(new LiveHost(), image)).volume, 'First');
    } finally {
      await rm(join(w.dir, 'fake bin', 'xorriso'));
    }
  });

  it('a folder name over 32 bytes in UTF-8 gets a label that fits the ISO volume name (bytes, not characters)', async () => {
    const root = await folder('é'.repeat(27));
    const r = await w.run(['share', 'tiger', root]);
    assert.equal(r.code, 0, r.stderr);
    const volume = (await listHfs(new LiveHost(), image)).volume;
    assert.equal(volume, 'é'.repeat(16));
    assert.match(r.stdout, new RegExp(`as a read-only CD "${'é'.repeat(16)}"`));
  });

  it("a temporary image a killed share left is removed by the next share of that guest", async () => {
    const stale = join(w.env['XDG_DATA_HOME']!, 'talos-mac', '.tiger-share.iso.talos-mac-4194300-0badc0de.tmp');
    await writeFile(stale, Buffer.alloc(1 << 20));
    const r = await w.run(['share', 'tiger', await folder('again')]);
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(stat(stale));
  });

  const refusals: Array<[string, () => Promise<string[]>, RegExp]> = [
    ['--label over 32 bytes', async () => [await folder('ok'), '--label', 'é'.repeat(20)], /--label "é{20}": 1 to 27 characters and at most 32 bytes in UTF-8 \(the ISO 9660 volume name; "é{20}" is 20 characters, 40 bytes\)/],
    ['a --label that looks like an option', async () => [await folder('ok'), '--label=-V'], /--label "-V": .*not starting with "-"/],
    ['an empty folder argument', async () => [''], /the folder to share is empty \(""\)/],
  ];
  for (const [what, args, re] of refusals) {
    it(`refuses ${what}: exit 2, nothing built, no definition changed`, async () => {
      const before = await readFile(def(), 'utf8');
      const img = await sha(image);
      const r = await w.run(['share', 'tiger', ...(await args())]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
      assert.equal(await readFile(def(), 'utf8'), before);
      assert.equal(await sha(image), img);
    });
  }

  it('an unreadable subfolder is refused by name (exit 2), not an internal error', async () => {
    const root = await folder('with secret');
    await mkdir(join(root, 'secret'));
    await writeFile(join(root, 'secret', 'x.txt'), 'x');
    await writeFile(join(root, 'locked.txt'), 'y');
    await chmod(join(root, 'secret'), 0o000);
    await chmod(join(root, 'locked.txt'), 0o000);
    // As root, permissions are not checked (CAP_DAC_OVERRIDE): talos-mac runs without those capabilities, as a user would.
    const node = join(w.dir, 'node-as-user');
    await writeFile(node, process.getuid?.() === 0 ? `#!/bin/sh\nexec setpriv --bounding-set -dac_override,-dac_read_search -- ${JSON.stringify(process.execPath)} "$@"\n` : `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
    await chmod(node, 0o755);
    const before = await readFile(def(), 'utf8');
    try {
      const r = await w.run(['share', 'tiger', root], { node });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /"secret": a folder that cannot be read \(permission denied\)/);
      assert.match(r.stderr, /"locked\.txt": a file that cannot be read \(permission denied\)/);
      assert.equal(await readFile(def(), 'utf8'), before);
    } finally {
      await chmod(join(root, 'secret'), 0o755);
    }
  });

  for (const [what, change] of [
    ['grows', 'echo more >> "$DIR/grows.txt"'],
    ['is deleted', 'rm "$DIR/grows.txt"'],
  ] as const) {
    it(`a file that ${what} while the CD is built is named; the old CD and the definition stay`, async () => {
      const root = await folder('busy', { 'grows.txt': 'start\n', 'calm.txt': 'calm\n' });
      // The real xorriso, after the file changed under it (as a download still being written would).
      await w.fakeProgram('xorriso', `for a; do DIR="$a"; done; ${change}; exec ${xorriso} "$@"`);
      const before = await readFile(def(), 'utf8');
      const img = await sha(image);
      try {
        const r = await w.run(['share', 'tiger', root]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /a file in ".*busy" changed while the CD was built: "grows\.txt"\. Nothing was changed/);
        assert.equal(await readFile(def(), 'utf8'), before);
        assert.equal(await sha(image), img);
        assert.deepEqual((await readdir(join(w.env['XDG_DATA_HOME']!, 'talos-mac'))).filter((f) => f.endsWith('.tmp')), []);
      } finally {
        await rm(join(w.dir, 'fake bin', 'xorriso'));
      }
    });
  }
});

describe('files get: every name ls shows; an interrupted copy leaves nothing running or behind', () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld('talos-names-');
    const qcow = await craftedVolume(w.dir);
    assert.equal((await w.run(['create', 'odd', '--os', 'tiger', '--disk', qcow])).code, 0);
  });
  after(() => w.cleanup());

  it('a name holding a newline is copied by the name ls shows', async () => {
    const ls = await w.run(['files', 'odd', 'ls', '/d']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /  new_line\.txt$/m);
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const r = await w.run(['files', 'odd', 'get', '/d/new_line.txt', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(dest, 'new_line.txt'), 'utf8'), 'one\n');
  });

  it('two names equal after Unicode normalisation: both copied, the second renamed visibly; --force replaces neither with the other', async () => {
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const r = await w.run(['files', 'odd', 'get', '/d', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Copied 3 files/);
    assert.match(r.stdout, /Renamed \(the same name as another after Unicode normalisation.*\): "\/d\/\u212a\.txt" → "K \(2\)\.txt"/);
    const contents = async (): Promise<string[]> => Promise.all(['K.txt', 'K (2).txt', 'new_line.txt'].map((f) => readFile(join(dest, 'd', f), 'utf8')));
    assert.deepEqual((await contents()).sort(), ['kay\n', 'kelvin\n', 'one\n']);
    const first = await contents();
    const again = await w.run(['files', 'odd', 'get', '/d', dest, '--force']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await contents(), first, 'each file replaced by itself, never by its twin');
    assert.deepEqual((await readdir(join(dest, 'd'))).sort(), ['K (2).txt', 'K.txt', 'new_line.txt']);
  });

  it('kill -9 during the volume copy: qemu-img dies with talos-mac, and the next run removes the leftover copy', async () => {
    const qemuImg = which('qemu-img');
    // qemu-img convert as a copy that takes minutes; every other qemu-img call is the real one.
    await w.fakeProgram('qemu-img', `if [ "$1" = convert ]; then exec python3 -c 'import time; time.sleep(300)' "$@"; fi; exec ${qemuImg} "$@"`);
    const dest = await mkdtemp(join(w.dir, 'dest-'));
    const child = spawn(process.execPath, [BIN, 'files', 'odd', 'get', '/d', dest], { env: w.env, stdio: 'ignore' });
    let copier: number[] = [];
    try {
      for (let i = 0; i < 200 && copier.length === 0; i++) {
        await sleep(50);
        copier = (await processesWith(join(dest, '.talos-mac-volume-'))).filter((p) => p !== child.pid);
      }
      assert.ok(copier.length > 0, 'the volume copy started');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      for (let i = 0; i < 40 && copier.some(alive); i++) await sleep(50);
      assert.deepEqual(copier.filter(alive), [], 'nothing talos-mac started is still running');
    } finally {
      for (const p of copier) if (alive(p)) process.kill(p, 'SIGKILL');
      await rm(join(w.dir, 'fake bin', 'qemu-img'));
    }
    const left = (await readdir(dest)).filter((f) => f.startsWith('.talos-mac-volume-'));
    assert.equal(left.length, 1, 'the killed run left its temporary folder');
    const r = await w.run(['files', 'odd', 'get', '/d/K.txt', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Removed 1 temporary folder an interrupted talos-mac files left/);
    assert.deepEqual(await readdir(dest), ['K.txt']);
  });
});

describe('QMP sockets without XDG_RUNTIME_DIR and a long guest name', () => {
  let w: TestWorld;
  const name = `g${'x'.repeat(62)}`;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    w = await makeWorld('talos-sock-');
    env = { XDG_RUNTIME_DIR: undefined, XDG_STATE_HOME: join(w.dir, 'a state folder with a long name to push the socket path over') };
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'SOCK');
    assert.equal((await w.run(['create', name, '--os', 'tiger', '--disk', disk], { env })).code, 0);
  });
  after(() => w.cleanup());

  it('the sockets go to a short private folder (0700, this user\'s): launch, status and stop work', async () => {
    const start = await w.run(['launch', name, '--detach', '--paused', '--display', 'none', '--accel', 'tcg'], { env });
    try {
      assert.equal(start.code, 0, start.stderr);
      const st = await w.run(['status', name, '--json'], { env });
      assert.equal(st.code, 0, st.stderr);
      assert.equal((JSON.parse(st.stdout) as { running: boolean }).running, true);
      const root = `/tmp/talos-mac-${process.getuid?.() ?? 0}`;
      const s = await stat(root);
      assert.equal(s.mode & 0o777, 0o700);
      assert.equal(s.uid, process.getuid?.());
      const argv = await runningQemuArgv(w, name, env);
      const sockets = argv.filter((a) => a.startsWith('unix:')).map((a) => a.slice(5).split(',')[0]!);
      assert.equal(sockets.length, 2);
      for (const p of sockets) {
        assert.match(p, new RegExp(`^${root}/[0-9a-f]{16}/(qmp|events)\\.sock$`));
        assert.ok(Buffer.byteLength(p) <= 107, p);
      }
    } finally {
      const stop = await w.run(['stop', name], { env });
      assert.equal(stop.code, 0, stop.stderr);
    }
  });
});
