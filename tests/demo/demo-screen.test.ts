// demo --display vnc: a guest to look at without Mac media. It runs until stopped, and
// talos-mac screenshot demo saves its screen as launch's guests' are saved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pngSize } from '../../src/launch/screenshot.js';
import { BIN } from '../helpers/cli.js';
import { freeDisplay, makeWorld, type TestWorld } from '../helpers/guest-env.js';
import { colourCounts, decodePng } from '../helpers/png.js';

describe('talos-mac demo --display vnc', { concurrency: false }, () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
  });
  after(async () => {
    await w.run(['kill', 'demo']);
    await w.cleanup();
  });

  it('boots under TCG with a VNC screen that stays; screenshot demo saves the firmware screen; stop demo ends it (exit 0)', async () => {
    // A display far from the first free ones other tests' guests take (vnc.ts picks the first free).
    const display = await freeDisplay();
    const demo = spawn(process.execPath, [BIN, 'demo', '--display', `vnc=127.0.0.1:${display}`, '--accel', 'tcg', '--timeout', '400'], { env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    demo.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<number | null>((resolve) => demo.on('close', resolve));
    try {
      const start = Date.now();
      while (!/VNC server on/.test(stderr) && Date.now() - start < 60_000) await new Promise((r) => setTimeout(r, 200));
      assert.match(stderr, new RegExp(`Its screen: a VNC server on 127\\.0\\.0\\.1:${5900 + display} \\(VNC display :${display}\\)`));
      assert.match(stderr, /talos-mac screenshot demo FILE\.png/);
      // The guest's screen is 800×600 (the demo's resolution) once OpenBIOS draws it; before, QEMU
      // shows its own 640×480 "Guest has not initialized the display (yet)".
      const shot = join(w.dir, 'demo.png');
      // The firmware clears the screen, then writes its banner and the demo's line.
      const written = (counts: number[]): boolean => (counts[1] ?? 0) > 800 * 600 * 0.001;
      let size: { width: number; height: number } | undefined;
      let counts: number[] = [];
      while (Date.now() - start < 300_000) {
        const r = await w.run(['screenshot', 'demo', shot, '--force']);
        assert.equal(r.code, 0, r.stderr);
        const data = await readFile(shot);
        size = pngSize(data);
        if (size?.width === 800) {
          counts = colourCounts(decodePng(data));
          if (written(counts)) break;
        }
        await new Promise((r) => setTimeout(r, 3000));
      }
      assert.deepEqual(size, { width: 800, height: 600 }, `the firmware never drew its screen\n${stderr}`);
      assert.ok(written(counts), `text on the screen: ${counts.slice(0, 4).join(', ')} pixels per colour`);
      const stop = await w.run(['stop', 'demo']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(await ended, 0, stderr);
      assert.match(stderr, /QEMU quit on request \(talos-mac stop\)/);
      const again = await w.run(['screenshot', 'demo', shot, '--force']);
      assert.notEqual(again.code, 0, 'nothing runs under the name demo any more');
    } finally {
      demo.kill('SIGKILL');
    }
  });

  it('--display must be one a person can look at, or the serial console', async () => {
    const r = await w.run(['demo', '--display', 'none']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--display for the demo is serial, vnc\[=HOST:N\] or window/);
  });

  it('--print-cmd with --display vnc: the VNC server on the command line, no runtime folder named', async () => {
    const r = await w.run(['demo', '--display', 'vnc=127.0.0.1:7', '--print-cmd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-display none -vnc 127\.0\.0\.1:7/);
    assert.doesNotMatch(r.stdout, /-qmp|-pidfile|-nographic/);
  });
});
