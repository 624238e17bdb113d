import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OS_CATALOG } from '../../src/guests/catalog.js';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { alive } from '../../src/launch/state.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const BOOT_TIMEOUT = ['--timeout', '60'];

describe('launch boots real images in qemu-system-ppc', () => {
  let w: TestWorld;
  let disk: string;
  let cd: string;
  before(async () => {
    w = await makeWorld();
    disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'TEST-DISK');
    cd = await buildBootImage(new LiveHost(), w.dir, 'cd', 'TEST-CD');
  });
  after(() => w.cleanup());

  it('a guest whose disk is a bootable image boots from the disk, and the launcher sees it power off', async () => {
    assert.equal((await w.run(['create', 'fromdisk', '--os', 'tiger', '--disk', disk, '--cdrom', cd])).code, 0);
    const r = await w.run(['launch', 'fromdisk', '--display', 'serial', ...BOOT_TIMEOUT]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TEST-DISK booted from \/pci@f2000000\/mac-io@c\/ata-3@20000\/disk@0/);
    assert.match(r.stderr, /Accelerator\s+TCG: not a POWER host/);
    assert.match(r.stderr, /The guest powered itself off/);
    const log = await readFile(join(w.env['XDG_STATE_HOME']!, 'talos-mac', 'logs', 'fromdisk.log'), 'utf8');
    assert.match(log, /\$ flock --nonblock --conflict-exit-code 75 --no-fork \S+\/locks\/fromdisk\.lock qemu-system-ppc -name fromdisk/);
    assert.match(log, /QEMU ended: exit 0 \(guest-shutdown\)/);
  });

  it('--install boots the CD under TCG and says so', async () => {
    const r = await w.run(['launch', 'fromdisk', '--install', '--display', 'serial', ...BOOT_TIMEOUT]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TEST-CD booted from \S+cdrom/);
    assert.match(r.stderr, /TCG for installing/);
  });

  it('an empty new disk with a CD boots the CD by itself; without a CD it refuses', async () => {
    assert.equal((await w.run(['create', 'fresh', '--os', 'panther', '--disk-size', '16M', '--cdrom', cd])).code, 0);
    const r = await w.run(['launch', 'fresh', '--display', 'serial', ...BOOT_TIMEOUT]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /The disk is still empty: booting the installer CD/);
    assert.match(r.stdout, /TEST-CD booted from/);
    assert.equal((await w.run(['create', 'nocd', '--os', 'panther', '--disk-size', '16M'])).code, 0);
    const refused = await w.run(['launch', 'nocd', '--print-cmd']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /still empty and there is no CD to install from/);
  });

  it('the argv of every catalog OS is accepted by the real QEMU and boots the test image', async () => {
    const names = OS_CATALOG.map((os) => ({ os, name: `os-${os.id}` }));
    for (const { os, name } of names) {
      // One copy each: QEMU locks a disk, so two guests cannot boot the same file at once.
      const own = join(w.dir, `${name}.qcow2`);
      await copyFile(disk, own);
      const c = await w.run(['create', name, '--os', os.id, '--disk', own, '--net', os.id === 'os9' ? 'none' : 'user']);
      assert.equal(c.code, 0, c.stderr);
    }
    // Two at a time: the machine has two cores.
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all(
        names.slice(i, i + 2).map(async ({ os, name }) => {
          const r = await w.run(['launch', name, '--display', 'serial', ...BOOT_TIMEOUT]);
          assert.equal(r.code, 0, `${os.title}: ${r.stderr}`);
          assert.match(r.stdout, /TEST-DISK booted from/, os.title);
          // The serial console has no pointer: without a tablet the mouse is a relative one.
          if (os.pointer === 'usb-tablet') assert.match(r.stderr, /Pointer\s+USB tablet/);
          else assert.match(r.stderr, /Pointer\s+relative mouse\n/);
          assert.match(r.stderr, os.via === 'cuda' ? /Input\s+ADB keyboard and mouse/ : /Input\s+USB keyboard and mouse/);
        }),
      );
    }
  });

  it('tap networking: an existing tap device is used (skipped without CAP_NET_ADMIN)', async (t) => {
    const dev = `tmtest${process.pid % 100000}`;
    try {
      execFileSync('ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap'], { stdio: 'ignore' });
    } catch {
      t.skip('cannot create a tap device here');
      return;
    }
    try {
      const own = join(w.dir, 'tap.qcow2');
      await copyFile(disk, own);
      assert.equal((await w.run(['create', 'tapped', '--os', 'tiger', '--disk', own, '--net', `tap:${dev}`])).code, 0);
      const r = await w.run(['launch', 'tapped', '--display', 'serial', ...BOOT_TIMEOUT]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`Network\\s+tap device ${dev}, rtl8139`));
      assert.match(r.stdout, /TEST-DISK booted from/);
    } finally {
      execFileSync('ip', ['tuntap', 'del', 'dev', dev, 'mode', 'tap'], { stdio: 'ignore' });
    }
  });

  it('detach, status, a second launch, stop, kill', async () => {
    assert.equal((await w.run(['create', 'bg', '--os', 'leopard', '--disk', disk, '--share-disk'])).code, 0);
    const start = await w.run(['launch', 'bg', '--detach', '--paused', '--display', 'none']);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stderr, /bg is running \(QEMU pid \d+/);
    const st = await w.run(['status', 'bg', '--json']);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { running: boolean; state: string; accel: string; pid: number };
    assert.deepEqual([s.running, s.state, s.accel], [true, 'prelaunch', 'tcg']);
    const again = await w.run(['launch', 'bg', '--display', 'none']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /guest bg is already running \(QEMU pid \d+\)/);
    const list = await w.run(['list']);
    assert.match(list.stdout, /bg\s+Mac OS X 10\.5 Leopard.*running/);
    assert.equal((await w.run(['create', 'twin', '--os', 'tiger', '--disk', disk, '--share-disk'])).code, 0);
    const twin = await w.run(['launch', 'twin', '--display', 'none']);
    assert.equal(twin.code, 1);
    assert.ok(twin.stderr.includes(`The disk ${JSON.stringify(disk)} is in use by another running QEMU (pid ${s.pid})`), twin.stderr);
    const rm = await w.run(['rm', 'bg']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /bg is running \(QEMU pid \d+\): stop it first/);
    const stop = await w.run(['stop', 'bg']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(alive(s.pid), false);
    const notRunning = await w.run(['status', 'bg']);
    assert.equal(notRunning.code, 1);
    assert.match(notRunning.stdout, /bg: not running/);

    assert.equal((await w.run(['launch', 'bg', '--detach', '--paused', '--display', 'none'])).code, 0);
    const pid = (JSON.parse((await w.run(['status', 'bg', '--json'])).stdout) as { pid: number }).pid;
    const kill = await w.run(['kill', 'bg']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(alive(pid), false);
    await assert.rejects(stat(join(w.env['XDG_RUNTIME_DIR']!, 'talos-mac', 'bg', 'qemu.pid')));
  });

  it('a stop from another terminal ends a foreground launch as a clean quit', async () => {
    assert.equal((await w.run(['create', 'fg', '--os', 'tiger', '--disk', disk, '--share-disk'])).code, 0);
    const running = w.run(['launch', 'fg', '--paused', '--display', 'none']);
    // Wait until it runs, and give the launcher a moment to attach to its QMP event socket.
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = (await w.run(['status', 'fg'])).code === 0;
    }
    await new Promise((r) => setTimeout(r, 500));
    const stopped = (await w.run(['stop', 'fg'])).code === 0;
    assert.ok(stopped, 'stop reached the running guest');
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /QEMU quit on request/);
  });
});
