// One guest, at most one QEMU (issue 9, class 1): real launches racing, real QEMUs holding disks.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { QmpClient } from '../../src/launch/qmp.js';
import { alive } from '../../src/launch/state.js';
import { handStartedQemu, makeWorld, processesWith, type TestWorld } from '../helpers/guest-env.js';

const DETACH = ['--detach', '--paused', '--display', 'none'];

describe('one guest, one QEMU', () => {
  let w: TestWorld;
  let disk: string;
  const runtime = (name: string) => join(w.env['XDG_RUNTIME_DIR']!, 'talos-mac', name);
  before(async () => {
    w = await makeWorld();
    disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'ONE-DISK');
    assert.equal((await w.run(['create', 'race', '--os', 'tiger', '--disk', disk])).code, 0);
  });
  after(() => w.cleanup());

  /** Exactly one QEMU runs `name`, the one named by the pid file, and its QMP socket answers. */
  async function assertOneQemu(name: string, winnerPid: number): Promise<void> {
    const pidFile = join(runtime(name), 'qemu.pid');
    assert.deepEqual(await processesWith(pidFile), [winnerPid], 'exactly one QEMU for the guest');
    assert.equal((await readFile(pidFile, 'utf8')).trim(), String(winnerPid), "the winner's pid file survived");
    const q = await QmpClient.connect(join(runtime(name), 'qmp.sock'), 3000);
    assert.equal((await q.execute<{ status: string }>('query-status')).status, 'prelaunch', "the winner's QMP socket survived and answers");
    q.close();
    const st = await w.run(['status', name, '--json']);
    assert.equal(st.code, 0, st.stderr);
    assert.deepEqual((({ running, pid }) => ({ running, pid }))(JSON.parse(st.stdout) as { running: boolean; pid: number }), { running: true, pid: winnerPid });
  }

  it('two launch --detach at once, three rounds: one wins, the loser starts nothing and touches none of its files', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([w.run(['launch', 'race', ...DETACH]), w.run(['launch', 'race', ...DETACH])]);
      const results = [a, b];
      const winners = results.filter((r) => r.code === 0);
      assert.equal(winners.length, 1, `round ${round}: exactly one launch succeeds:\n${a.stderr}\n---\n${b.stderr}`);
      const loser = results.find((r) => r.code !== 0)!;
      const pid = Number(/QEMU pid (\d+)/.exec(winners[0]!.stderr)?.[1]);
      assert.equal(loser.code, 1, loser.stderr);
      assert.match(loser.stderr, new RegExp(`guest race is already running \\(QEMU pid ${pid}\\)`));
      await assertOneQemu('race', pid);
      const rm = await w.run(['rm', 'race', '--delete-disk', '--yes']);
      assert.equal(rm.code, 1, 'rm refuses while it runs');
      assert.ok((await stat(disk)).size > 0);
      assert.equal((await w.run(['kill', 'race'])).code, 0);
      assert.equal(alive(pid), false);
    }
  });

  it('a foreground launch racing a detached one: one QEMU, and the loser never talks to it', async () => {
    const [fg, bg] = await Promise.all([w.run(['launch', 'race', '--paused', '--display', 'none', '--timeout', '4']), w.run(['launch', 'race', ...DETACH])]);
    // Whichever won: the detached one still runs only if it won, the foreground one ends by its --timeout.
    if (bg.code === 0) {
      assert.equal(fg.code, 1, fg.stderr);
      assert.match(fg.stderr, /guest race is already running/);
      const pid = Number(/QEMU pid (\d+)/.exec(bg.stderr)?.[1]);
      await assertOneQemu('race', pid);
      assert.equal((await w.run(['stop', 'race'])).code, 0);
    } else {
      assert.equal(bg.code, 1, bg.stderr);
      assert.match(bg.stderr, /guest race is already running/);
      assert.equal(fg.code, 1, fg.stderr);
      assert.match(fg.stderr, /did not finish within the time limit/);
    }
    assert.equal((await w.run(['status', 'race'])).code, 1);
  });

  it('a QEMU killed with SIGKILL behind talos-mac: status says not running, the next launch works', async () => {
    const start = await w.run(['launch', 'race', ...DETACH]);
    assert.equal(start.code, 0, start.stderr);
    const pid = Number(/QEMU pid (\d+)/.exec(start.stderr)?.[1]);
    // The background talos-mac first (it would clear the dead QEMU's files), then QEMU.
    process.kill(Number(/talos-mac pid (\d+)/.exec(start.stderr)?.[1]), 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await stat(join(runtime('race'), 'qemu.pid')), 'the dead QEMU left its pid file');
    const st = await w.run(['status', 'race']);
    assert.equal(st.code, 1, st.stdout);
    const again = await w.run(['launch', 'race', ...DETACH]);
    assert.equal(again.code, 0, again.stderr);
    await assertOneQemu('race', Number(/QEMU pid (\d+)/.exec(again.stderr)?.[1]));
    assert.equal((await w.run(['stop', 'race'])).code, 0);
  });

  describe('a QEMU started by hand, outside talos-mac, on a guest disk', () => {
    let q: ChildProcess;
    let own: string;
    before(async () => {
      const c = await w.run(['create', 'byhand', '--os', 'tiger', '--disk-size', '16M']);
      assert.equal(c.code, 0, c.stderr);
      own = join(w.env['XDG_DATA_HOME']!, 'talos-mac', 'byhand.qcow2');
      await copyFile(disk, own);
      q = await handStartedQemu(own);
    });
    after(() => {
      q.kill('SIGKILL');
    });

    it('status finds it by its disk lock, with its pid', async () => {
      const st = await w.run(['status', 'byhand']);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.match(st.stdout, new RegExp(`byhand: running outside talos-mac: its disk ".*byhand\\.qcow2" is in use by a QEMU talos-mac did not start \\(pid ${q.pid}\\)`));
      const list = await w.run(['list']);
      assert.match(list.stdout, /byhand\s+.*running/);
    });

    it('rm --delete-disk refuses and deletes nothing; launch, stop and kill refuse', async () => {
      const rm = await w.run(['rm', 'byhand', '--delete-disk', '--yes']);
      assert.equal(rm.code, 1, rm.stderr);
      assert.match(rm.stderr, /byhand cannot be removed with its disk: its disk .* is in use by a QEMU talos-mac did not start/);
      assert.ok((await stat(own)).size > 0, 'the disk is still there');
      assert.ok(await stat(join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'byhand.toml')), 'the definition too');
      const launch = await w.run(['launch', 'byhand', '--display', 'none']);
      assert.equal(launch.code, 1, launch.stderr);
      assert.match(launch.stderr, new RegExp(`The disk ".*byhand\\.qcow2" is in use by another running QEMU \\(pid ${q.pid}\\)[^]*Nothing was started`));
      for (const cmd of ['stop', 'kill']) {
        const r = await w.run([cmd, 'byhand']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /byhand was not started by talos-mac/);
      }
      assert.equal(alive(q.pid!), true, 'talos-mac did not stop a QEMU it does not own');
    });
  });
});
