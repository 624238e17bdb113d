// Checkpoints over real qcow2 images with the real qemu-img and qemu-io (issue 13).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestLockFile, holdLock, launchLockFile, lockHolder } from '../../src/launch/guest-lock.js';
import { whileGuestOff } from '../../src/launch/offline.js';
import { GuestStore } from '../../src/guests/store.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestPaths } from '../../src/guests/paths.js';
import { BIN } from '../helpers/cli.js';
import { buildBootImage } from '../../src/demo/image.js';
import { handStartedQemu, makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** Fills the first 64 KiB of the guest-visible disk with `byte` (qemu-io writes through the qcow2 layer). */
function fill(disk: string, byte: number): void {
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P ${byte} 0 64k`, disk], { stdio: 'ignore' });
}

/** The first 64 KiB as the guest sees them. */
async function first64k(disk: string, dir: string): Promise<Buffer> {
  const out = join(dir, 'peek.raw');
  await rm(out, { force: true });
  execFileSync('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=65536', 'count=1', `if=${disk}`, `of=${out}`], { stdio: 'ignore' });
  return readFile(out);
}

const allBytes = (b: Buffer, v: number): boolean => b.length === 65536 && b.every((x) => x === v);

const hasScript = spawnSync('script', ['--version']).status === 0;

/** The CLI in a pseudo-terminal (script(1)), typing each answer once the question shows. */
function inTerminal(w: TestWorld, args: string[], answers: string[]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve) => {
    const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, BIN, ...args].map(q).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: w.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let seen = 0;
    let next = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (next < answers.length && /\(Y\/n\)|Y\/n|yes or no/.test(screen.slice(seen))) {
        seen = screen.length;
        const keys = answers[next++]!;
        setTimeout(() => child.stdin.write(keys), 150);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

interface ListDoc {
  running: boolean;
  checkpoints: Array<{ tag: string; date: string }>;
}

describe('checkpoint save | list | restore | delete (real qemu-img)', () => {
  let w: TestWorld;
  let disk: string;
  before(async () => {
    w = await makeWorld('talos-ckpt-');
    const r = await w.run(['create', 'tiger', '--os', 'tiger', '--disk-size', '32M']);
    assert.equal(r.code, 0, r.stderr);
    disk = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'tiger.qcow2');
  });
  after(() => w.cleanup());

  const list = async (): Promise<ListDoc> => {
    const r = await w.run(['checkpoint', 'tiger', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ListDoc;
  };

  it('save → change the disk → restore gives the old bytes back, and the replaced state is kept', async () => {
    fill(disk, 0xaa);
    const save = await w.run(['checkpoint', 'tiger', 'save', 'installed']);
    assert.equal(save.code, 0, save.stderr);
    assert.match(save.stdout, /Saved checkpoint installed of tiger\. Go back to it with: talos-mac checkpoint tiger restore installed/);
    fill(disk, 0x55);
    assert.ok(allBytes(await first64k(disk, w.dir), 0x55), 'the change is on the disk');

    const restore = await w.run(['checkpoint', 'tiger', 'restore', 'installed']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok(allBytes(await first64k(disk, w.dir), 0xaa), 'the bytes of the checkpoint are back');
    const auto = /kept as checkpoint (before-restore-\d{4}-\d\d-\d\d-\d{6})/.exec(restore.stdout)?.[1];
    assert.ok(auto, restore.stdout);
    assert.deepEqual((await list()).checkpoints.map((c) => c.tag), ['installed', auto]);

    // The automatic checkpoint undoes the restore.
    const undo = await w.run(['checkpoint', 'tiger', 'restore', auto]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.ok(allBytes(await first64k(disk, w.dir), 0x55), 'restoring the automatic checkpoint brings the replaced state back');
  });

  it('list as text; a default tag is the date and time', async () => {
    const r = await w.run(['checkpoint', 'tiger', 'save']);
    assert.equal(r.code, 0, r.stderr);
    const tag = /Saved checkpoint (\S+) of tiger/.exec(r.stdout)?.[1];
    assert.match(tag ?? '', /^\d{4}-\d\d-\d\d-\d{6}$/);
    const text = await w.run(['checkpoint', 'tiger', 'list']);
    assert.match(text.stdout, new RegExp(`^  ${tag}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`, 'm'));
    const doc = await list();
    assert.equal(doc.running, false);
    assert.ok(doc.checkpoints.some((c) => c.tag === tag));
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['a tag with shell characters', ['checkpoint', 'tiger', 'save', 'a;rm -rf'], /invalid checkpoint name "a;rm -rf": letters, digits/],
    ['a tag of digits alone (qemu-img would match it as an id)', ['checkpoint', 'tiger', 'save', '1'], /digits alone could be taken for a snapshot id; add a letter \(e\.g\. v1\)/],
    ['a duplicate tag (qemu-img would accept it)', ['checkpoint', 'tiger', 'save', 'installed'], /already has a checkpoint "installed"/],
    ['restore of an unknown tag', ['checkpoint', 'tiger', 'restore', 'nope'], /tiger has no checkpoint "nope" \(its checkpoints: installed, /],
    ['restore without a tag', ['checkpoint', 'tiger', 'restore'], /restore needs the checkpoint's name/],
    ['an unknown action', ['checkpoint', 'tiger', 'undo'], /unknown checkpoint action "undo"/],
    ['delete without --yes and no terminal', ['checkpoint', 'tiger', 'delete', 'installed'], /cannot be undone: confirm with --yes/],
  ];
  for (const [what, args, re] of usage) {
    it(`refuses ${what}, changing nothing`, async () => {
      const beforeList = await list();
      const r = await w.run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.deepEqual(await list(), beforeList);
    });
  }

  it('delete --yes removes one checkpoint', async () => {
    const r = await w.run(['checkpoint', 'tiger', 'delete', 'installed', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await list()).checkpoints.some((c) => c.tag === 'installed'));
  });

  it('is refused while talos-mac holds the guest lock (a running guest), and save/restore change nothing', async () => {
    const paths = guestPaths(w.env);
    const lock = guestLockFile(paths, 'tiger');
    // What launch runs: flock --no-fork holding the lock for a process (here sleep, standing in for QEMU).
    const holder: ChildProcess = spawn('flock', ['--nonblock', '--no-fork', lock, 'sleep', '60'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && (await lockHolder(lock))?.pid !== holder.pid; i++) await new Promise((r) => setTimeout(r, 10));
      const beforeList = await list();
      assert.equal(beforeList.running, true, 'list still works (read with -U) and says it is running');
      for (const args of [['save', 'x1'], ['restore', beforeList.checkpoints[0]!.tag]]) {
        const r = await w.run(['checkpoint', 'tiger', ...args]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`cannot ${args[0]} a checkpoint of tiger: tiger is running \\(pid ${holder.pid}\\)\\. Shut Mac OS down`));
      }
      assert.deepEqual((await list()).checkpoints, beforeList.checkpoints);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('is refused while a QEMU started by hand has the disk open', async () => {
    const q = await handStartedQemu(disk);
    try {
      const r = await w.run(['checkpoint', 'tiger', 'save', 'x2']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot save a checkpoint of tiger: its disk ".*tiger\.qcow2" is in use by a QEMU talos-mac did not start \(pid \d+\)/);
    } finally {
      q.kill('SIGKILL');
      await new Promise((r) => q.once('exit', r));
    }
  });

  it('holds the guest lock and the launch lock while it works: a launch (flock, as launch takes them) is refused meanwhile', async () => {
    const paths = guestPaths(w.env);
    const lock = guestLockFile(paths, 'tiger');
    const g = await new GuestStore(w.env).read('tiger');
    const busy = (file: string): number | null => spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', file, 'true']).status;
    const during = await whileGuestOff(new LiveHost(w.env), paths, g, 'test', async () => [busy(lock), busy(launchLockFile(lock))]);
    assert.deepEqual(during, [75, 75], 'both locks were held during the operation');
    assert.deepEqual([busy(lock), busy(launchLockFile(lock))], [0, 0], 'and released after it');
  });

  it('is refused while a launch holds the launch lock (between a guest reset and the restarted QEMU)', async () => {
    const lock = guestLockFile(guestPaths(w.env), 'tiger');
    const held = await holdLock(launchLockFile(lock));
    assert.ok(held);
    try {
      const r = await w.run(['checkpoint', 'tiger', 'save', 'during-restart']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot save a checkpoint of tiger: tiger is being launched \(or restarted after a reset\)/);
    } finally {
      held.release();
    }
  });

  it('a raw disk says why it cannot, and how to convert it', async () => {
    const raw = join(w.dir, 'old disk.img');
    await writeFile(raw, Buffer.alloc(1 << 20, 1));
    const c = await w.run(['create', 'old', '--os', 'tiger', '--disk', raw, '--raw']);
    assert.equal(c.code, 0, c.stderr);
    for (const action of [['save'], ['list']]) {
      const r = await w.run(['checkpoint', 'old', ...action]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /the disk of old is raw, and only a qcow2 image can hold checkpoints/);
      assert.match(r.stderr, /qemu-img convert -p -O qcow2 ".*old disk\.img" NEW\.qcow2/);
    }
    assert.ok((await readFile(raw)).every((b) => b === 1), 'the raw disk is untouched');
  });

  describe('launch --install on a disk with data', () => {
    before(async () => {
      // A real Mac boot disc: launch --install boots only one (media-check.ts admitDisc).
      const cd = await buildBootImage(new LiveHost(), w.dir, 'cd', 'INSTALLER');
      const r = await w.run(['create', 'inst', '--os', 'tiger', '--disk-size', '32M', '--cdrom', cd]);
      assert.equal(r.code, 0, r.stderr);
      await w.fakeQemu('exit 0');
    });
    const instDisk = (): string => join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'inst.qcow2');
    const tags = async (): Promise<string[]> => {
      const r = await w.run(['checkpoint', 'inst', 'list', '--json']);
      return (JSON.parse(r.stdout) as ListDoc).checkpoints.map((c) => c.tag);
    };

    it('an empty disk gets none', async () => {
      const r = await w.run(['launch', 'inst', '--install', '--display', 'none', '--accel', 'tcg']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await tags(), []);
    });

    it('--no-checkpoint saves none', async () => {
      fill(instDisk(), 0x11);
      const r = await w.run(['launch', 'inst', '--install', '--no-checkpoint', '--display', 'none', '--accel', 'tcg']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await tags(), []);
    });

    it('on a terminal it asks (strictly: "maybe" is asked again); no saves none, Enter saves one', { skip: !hasScript && 'script(1) is not installed' }, async () => {
      const before = (await tags()).length;
      const no = await inTerminal(w, ['launch', 'inst', '--install', '--display', 'none', '--accel', 'tcg'], ['maybe\r', 'n\r']);
      assert.equal(no.code, 0, no.screen);
      assert.match(no.screen, /The disk of inst already holds data\. Save a checkpoint before the installer/);
      assert.match(no.screen, /Answer yes or no \(Enter: yes\)/, 'a stray answer is refused, not taken as the default');
      assert.match(no.screen, /No checkpoint saved/);
      assert.equal((await tags()).length, before);
      const yes = await inTerminal(w, ['launch', 'inst', '--install', '--display', 'none', '--accel', 'tcg'], ['\r']);
      assert.equal(yes.code, 0, yes.screen);
      assert.equal((await tags()).length, before + 1);
      assert.match(yes.screen, /Saved checkpoint before-install-/);
      const last = (await tags()).at(-1)!;
      assert.equal((await w.run(['checkpoint', 'inst', 'delete', last, '--yes'])).code, 0);
    });

    it('without a terminal one is saved by default, and the launch says how to go back', async () => {
      const r = await w.run(['launch', 'inst', '--install', '--display', 'none', '--accel', 'tcg']);
      assert.equal(r.code, 0, r.stderr);
      const t = await tags();
      assert.equal(t.length, 1);
      assert.match(t[0]!, /^before-install-\d{4}-\d\d-\d\d-\d{6}$/);
      assert.ok(r.stderr.includes(`Saved checkpoint ${t[0]}: talos-mac checkpoint inst restore ${t[0]} puts the disk back`), r.stderr);
    });
  });
});
