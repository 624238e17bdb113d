// Locks live where no guest name reaches (issue 21): guests named NAME and NAME.launch run side by
// side, and a QEMU an older talos-mac started (holding the guest lock by its old name) is still
// found after an upgrade. Real QEMUs, real flock.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { guestPaths } from '../../src/guests/paths.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestLockFile } from '../../src/launch/guest-lock.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const DETACH = ['--detach', '--paused', '--display', 'none'];
const qemuPid = (stderr: string): number => Number(/QEMU pid (\d+)/.exec(stderr)?.[1]);

describe('lock names', () => {
  let w: TestWorld;
  let disk: string;
  before(async () => {
    w = await makeWorld();
    disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'LOCK-NAMES');
    for (const name of ['dup', 'dup.launch', 'old']) {
      const own = join(w.dir, `${name}.qcow2`);
      await copyFile(disk, own);
      const c = await w.run(['create', name, '--os', 'tiger', '--disk', own, '--net', 'none']);
      assert.equal(c.code, 0, c.stderr);
    }
  });
  after(async () => {
    for (const name of ['dup', 'dup.launch', 'old']) await w.run(['kill', name]);
    await w.cleanup();
  });

  it('guests named dup and dup.launch: while dup runs, dup.launch takes checkpoints, launches and stops on its own', async () => {
    const a = await w.run(['launch', 'dup', ...DETACH]);
    assert.equal(a.code, 0, a.stderr);
    const save = await w.run(['checkpoint', 'dup.launch', 'save', 'beside']);
    assert.equal(save.code, 0, `dup's launch lock is not dup.launch's guest lock: ${save.stderr}`);
    const b = await w.run(['launch', 'dup.launch', ...DETACH]);
    assert.equal(b.code, 0, b.stderr);
    const st = await w.run(['status', 'dup.launch', '--json']);
    assert.equal(JSON.parse(st.stdout).pid, qemuPid(b.stderr));
    assert.equal(JSON.parse((await w.run(['status', 'dup', '--json'])).stdout).pid, qemuPid(a.stderr));
    assert.equal((await w.run(['stop', 'dup.launch'])).code, 0);
    assert.equal(JSON.parse((await w.run(['status', 'dup', '--json'])).stdout).running, true, 'dup still runs');
    assert.equal((await w.run(['stop', 'dup'])).code, 0);
  });

  it("a QEMU an older talos-mac started (flock --no-fork on locks/NAME.lock, its launcher on NAME.launch.lock) is found, refused a second launch, and killed", async () => {
    const paths = guestPaths(w.env);
    const lock = guestLockFile(paths, 'old');
    assert.equal(lock, join(paths.state, 'locks', 'old.lock'), 'the guest lock kept the name older versions gave it');
    await mkdir(dirname(lock), { recursive: true });
    // The old launcher's launch lock, held as it held it (a flock whose taker exits: the fd stays with the launcher).
    const launcher: ChildProcess = spawn('flock', ['--nonblock', join(paths.state, 'locks', 'old.launch.lock'), 'sleep', '600'], { stdio: 'ignore' });
    const q: ChildProcess = spawn(
      'flock',
      ['--nonblock', '--no-fork', lock, 'qemu-system-ppc', '-M', 'mac99', '-display', 'none', '-S', '-nic', 'none', '-drive', `file=${join(w.dir, 'old.qcow2')},format=qcow2,if=none,id=hd0`, '-device', 'ide-hd,drive=hd0,bus=ide.0'],
      { stdio: 'ignore' },
    );
    try {
      let st = { code: 1 as number | null, stdout: '{}' };
      for (let i = 0; i < 100 && st.code !== 0; i++) {
        st = await w.run(['status', 'old', '--json']);
        if (st.code !== 0) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(JSON.parse(st.stdout).pid, q.pid, st.stdout);
      const again = await w.run(['launch', 'old', ...DETACH]);
      assert.equal(again.code, 1, again.stderr);
      assert.match(again.stderr, new RegExp(`guest old is already running \\(QEMU pid ${q.pid}\\)`));
      const k = await w.run(['kill', 'old']);
      assert.equal(k.code, 0, k.stderr);
      assert.equal(q.exitCode !== null || q.signalCode !== null || (await new Promise((r) => q.once('exit', () => r(true)))), true);
    } finally {
      q.kill('SIGKILL');
      launcher.kill('SIGKILL');
    }
  });
});
