// status without a name: every guest, running or not, how it runs and where its screen is.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { StatusReportSchema } from '../../src/schema.js';
import { freeDisplay, makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('talos-mac status (every guest)', { concurrency: false }, () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'STATUS-DISK');
    assert.equal((await w.run(['create', 'up', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
    assert.equal((await w.run(['create', 'down', '--os', 'os9', '--disk-size', '64M', '--net', 'none'])).code, 0);
  });
  after(async () => {
    await w.run(['kill', 'up']);
    await w.cleanup();
  });

  it('no guests: says how to make one (exit 0), and the JSON is an empty list', async () => {
    const empty = await makeWorld();
    try {
      const r = await empty.run(['status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /No guests yet\. Create one: talos-mac create/);
      const j = await empty.run(['status', '--json']);
      assert.deepEqual(StatusReportSchema.parse(JSON.parse(j.stdout)), { schema: 'talos-mac/status@1', guests: [] });
    } finally {
      await empty.cleanup();
    }
  });

  it('a running and a stopped guest: the accelerator and the VNC address QEMU reports, text and --json', async () => {
    const launch = await w.run(['launch', 'up', '--display', `vnc=127.0.0.1:${await freeDisplay()}`, '--detach', '--paused', '--accel', 'tcg']);
    assert.equal(launch.code, 0, launch.stderr);
    const port = /Display\s+VNC server on 127\.0\.0\.1:(\d+)/.exec(launch.stderr)?.[1];
    assert.ok(port, launch.stderr);

    const text = await w.run(['status']);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+STATE\s+ACCEL\s+DISPLAY$/);
    assert.match(text.stdout, new RegExp(`^up\\s+(prelaunch|paused)\\s+TCG\\s+VNC server on 127\\.0\\.0\\.1:${port} \\(VNC display :${Number(port) - 5900}\\)`, 'm'));
    assert.match(text.stdout, /^down\s+stopped\s+-\s+-$/m);

    const j = await w.run(['status', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const report = StatusReportSchema.parse(JSON.parse(j.stdout));
    const up = report.guests.find((g) => g.name === 'up');
    const down = report.guests.find((g) => g.name === 'down');
    assert.equal(up?.running, true);
    assert.equal(up?.accel, 'tcg');
    assert.equal(up?.display?.kind, 'vnc');
    assert.equal(up?.display?.vnc?.port, Number(port));
    assert.deepEqual(down, { name: 'down', running: false });

    // The one-guest form keeps its exit codes: 0 running, 1 not.
    assert.equal((await w.run(['status', 'up'])).code, 0);
    assert.equal((await w.run(['status', 'down'])).code, 1);
    assert.equal((await w.run(['kill', 'up'])).code, 0);
  });

  it('a definition that cannot be read is listed with its problem, not a crash', async () => {
    await writeFile(join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'broken.toml'), 'os = \n');
    const r = await w.run(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^broken\s+invalid\s+-\s+\S/m);
    const report = StatusReportSchema.parse(JSON.parse((await w.run(['status', '--json'])).stdout));
    assert.ok(report.guests.find((g) => g.name === 'broken')?.problem);
  });
});
