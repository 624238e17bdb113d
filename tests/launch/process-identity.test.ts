// A process is known by what it holds, not by its pid (issue 21): real helpers die, and their
// pids are really handed out again to unrelated processes (pid-reuse.ts), which status, stop and
// kill must leave alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GuestStore } from '../../src/guests/store.js';
import { guestPaths } from '../../src/guests/paths.js';
import { LiveHost } from '../../src/host/live-host.js';
import { guestLockFile } from '../../src/launch/guest-lock.js';
import { whileGuestOff } from '../../src/launch/offline.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { flockTakersOf, impostorWithPid, type Impostor } from './pid-reuse.js';

const runs = (pid: number): Promise<boolean> =>
  readFile(`/proc/${pid}/stat`, 'utf8').then((s) => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z', () => false);

describe('status, stop and kill never take a recycled pid for the guest', () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
    const c = await w.run(['create', 'idt', '--os', 'tiger', '--disk-size', '16M']);
    assert.equal(c.code, 0, c.stderr);
  });
  after(() => w.cleanup());

  /** status says not running, stop and kill refuse, and the impostor lives on (every command asked, then judged). */
  async function leftAlone(imp: Impostor): Promise<void> {
    const wrong: string[] = [];
    const st = await w.run(['status', 'idt', '--json']);
    if (st.code !== 1 || JSON.parse(st.stdout).running !== false) wrong.push(`status took pid ${imp.pid} (an unrelated sleep) for the guest: ${st.stdout}`);
    for (const cmd of ['stop', 'kill']) {
      const r = await w.run([cmd, 'idt']);
      if (r.code !== 1 || !/idt is not running/.test(r.stderr)) wrong.push(`${cmd}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      if (!(await runs(imp.pid))) wrong.push(`${cmd} signalled pid ${imp.pid}, an unrelated process`);
    }
    assert.deepEqual(wrong, []);
  }

  it("a checkpoint/files command holds the guest lock (taken by a flock helper that exited); the helper's pid goes to another program", async (t) => {
    const paths = guestPaths(w.env);
    const g = await new GuestStore(w.env).read('idt');
    const lock = guestLockFile(paths, 'idt');
    await whileGuestOff(new LiveHost(w.env), paths, g, 'test', async () => {
      const takers = await flockTakersOf((await stat(lock)).ino);
      // In a child pid namespace /proc/locks leaves out a lock whose taker's pid is gone (fs/locks.c
      // locks_translate_pid gives 0): the exited helper's pid is never offered there, nothing to mistake.
      if (takers.length === 0) {
        t.skip("/proc/locks here leaves out a lock whose taker has exited (a child pid namespace): nothing to mistake");
        return;
      }
      assert.equal(takers.length, 1, 'one flock on the guest lock');
      const helper = takers[0]!;
      assert.notEqual(helper, process.pid, 'taken by a helper process, not by this one');
      const imp = await impostorWithPid(helper);
      try {
        assert.deepEqual(await flockTakersOf((await stat(lock)).ino), [imp.pid], '/proc/locks now names the impostor');
        await leftAlone(imp);
      } finally {
        imp.end();
      }
    });
  });

  it("a QEMU that died while a child of it kept the lock: the dead QEMU's pid goes to another program", async (t) => {
    const lock = guestLockFile(guestPaths(w.env), 'idt');
    await mkdir(dirname(lock), { recursive: true });
    // As launch runs QEMU (flock --no-fork), standing in for a QEMU that started a helper and died.
    const q = spawn('flock', ['--nonblock', '--no-fork', lock, 'sh', '-c', 'sleep 600 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let child = '';
    q.stdout.on('data', (d: Buffer) => (child += d.toString()));
    await new Promise((r) => q.once('exit', r));
    const holder = Number(child.trim());
    try {
      const takers = await flockTakersOf((await stat(lock)).ino);
      // In a child pid namespace /proc/locks shows 0 once the taker's pid is freed (fs/locks.c locks_translate_pid),
      // so the dead pid is never offered there: the hazard this test sets up cannot arise.
      if (takers.length === 0 || takers[0] === 0) {
        t.skip("/proc/locks here does not keep a dead taker's pid (a child pid namespace): nothing to mistake");
        return;
      }
      assert.deepEqual(takers, [q.pid], "/proc/locks still names the dead 'QEMU'");
      const imp = await impostorWithPid(q.pid!);
      try {
        await leftAlone(imp);
      } finally {
        imp.end();
      }
    } finally {
      process.kill(holder, 'SIGKILL');
    }
  });
});
