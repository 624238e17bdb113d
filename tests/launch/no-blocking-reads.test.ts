// No read blocks (issue 21): a disk, a CD or a backing file down a qcow2 chain that is a FIFO or a
// character device is refused before anything opens it, in every command. Real qemu-img images
// whose backing file is a real FIFO (`qemu-img create -b FIFO -u`): before, `media check` waited a
// minute for qemu-img dd, launch for qemu-img map, status for qemu-img info on a FIFO disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

/** Well under the 30–60 s qemu-img timeouts a blocked read used to run into. */
const QUICK_MS = 12_000;

describe('no read blocks on a FIFO or a device', () => {
  let w: TestWorld;
  let fifo: string;
  let overFifo: string;
  let overZero: string;
  let good: string;
  before(async () => {
    w = await makeWorld();
    fifo = join(w.dir, 'back.fifo');
    execFileSync('mkfifo', [fifo]);
    overFifo = join(w.dir, 'over-fifo.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', fifo, '-F', 'raw', overFifo, '10M', '-u']);
    // Two levels down: top -> middle (a fine qcow2) -> /dev/zero (a character device).
    const middle = join(w.dir, 'middle.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/dev/zero', '-F', 'raw', middle, '10M', '-u']);
    overZero = join(w.dir, 'over-zero.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', middle, '-F', 'qcow2', overZero, '10M', '-u']);
    good = await buildBootImage(new LiveHost(), w.dir, 'disk', 'NO-BLOCK');
  });
  after(() => w.cleanup());

  async function quick(args: string[]): Promise<{ code: number | null; out: string }> {
    const t0 = Date.now();
    const r = await w.run(args, { timeoutMs: QUICK_MS });
    const ms = Date.now() - t0;
    assert.ok(r.code !== null && ms < QUICK_MS, `talos-mac ${args.join(' ')} blocked (${ms} ms, killed): ${r.stderr}`);
    return { code: r.code, out: r.stdout + r.stderr };
  }

  it('media check: a qcow2 whose backing file is a FIFO, or a device two levels down, is refused at once (exit 2), naming it', async () => {
    const a = await quick(['media', 'check', overFifo]);
    assert.equal(a.code, 2, a.out);
    assert.match(a.out, /has a backing file ".*back\.fifo" that is a FIFO \(named pipe\), not an image file/);
    const j = await quick(['media', 'check', overFifo, '--json']);
    assert.equal(JSON.parse(j.out.slice(0, j.out.lastIndexOf('}') + 1)).verdict, 'unreadable');
    const b = await quick(['media', 'check', overZero]);
    assert.equal(b.code, 2, b.out);
    assert.match(b.out, /2 files down its backing chain, a backing file "\/dev\/zero" that is a character device/);
  });

  it('create --disk / --cdrom: refused at once (exit 2), nothing created', async () => {
    const d = await quick(['create', 'viadisk', '--os', 'tiger', '--disk', overFifo]);
    assert.equal(d.code, 2, d.out);
    assert.match(d.out, /back\.fifo" that is a FIFO/);
    const c = await quick(['create', 'viacd', '--os', 'tiger', '--disk-size', '16M', '--cdrom', overZero]);
    assert.equal(c.code, 2, c.out);
    assert.match(c.out, /character device/);
    assert.match((await w.run(['list'])).stdout + 'x', /^(?![\s\S]*\bvia(disk|cd)\b)/, 'no guest was created');
  });

  it("a guest whose disk became a qcow2 over a FIFO: launch, --print-cmd, files, checkpoint save and list refuse at once; status answers", async () => {
    const disk = join(w.dir, 'guest.qcow2');
    await copyFile(good, disk);
    assert.equal((await w.run(['create', 'fb', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    await copyFile(overFifo, disk);
    for (const args of [
      ['launch', 'fb', '--display', 'none', '--timeout', '5'],
      ['launch', 'fb', '--print-cmd'],
      ['files', 'fb', 'ls'],
      ['checkpoint', 'fb', 'save', 'x'],
      ['checkpoint', 'fb', 'list'],
    ]) {
      const r = await quick(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
      assert.match(r.out, /back\.fifo" that is a FIFO/, args.join(' '));
    }
    const st = await quick(['status', 'fb']);
    assert.equal(st.code, 1, st.out);
  });

  it('a guest whose disk itself became a FIFO: status and checkpoint list answer at once', async () => {
    const disk = join(w.dir, 'guest2.qcow2');
    await copyFile(good, disk);
    assert.equal((await w.run(['create', 'ff', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    await rm(disk);
    execFileSync('mkfifo', [disk]);
    const st = await quick(['status', 'ff']);
    assert.equal(st.code, 1, st.out);
    const l = await quick(['checkpoint', 'ff', 'list']);
    assert.equal(l.code, 2, l.out);
    assert.match(l.out, /is a FIFO \(named pipe\), not an image file/);
  });
});
