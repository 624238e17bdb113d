// --print-cmd prints a command for people to paste into a shell: the test pastes it into bash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('--print-cmd prints a command that runs as pasted', () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
    const disk = await buildBootImage(new LiveHost(), w.dir, 'disk', 'PASTED-DISK');
    assert.equal((await w.run(['create', 'pasted', '--os', 'tiger', '--disk', disk, '--net', 'none'])).code, 0);
  });
  after(() => w.cleanup());

  const paste = (line: string) => spawnSync('bash', ['-c', line.trim()], { env: w.env, encoding: 'utf8', timeout: 60_000 });

  it('launch: the pid file and QMP sockets land in a folder that exists', async () => {
    const r = await w.run(['launch', 'pasted', '--display', 'serial', '--print-cmd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-pidfile \S+\/pasted\/qemu\.pid/);
    const run = paste(r.stdout);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /PASTED-DISK booted from/);
  });

  it('demo: names no temporary file that is deleted when talos-mac exits', async () => {
    const r = await w.run(['demo', '--print-cmd']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(w.env['TMPDIR']!), [], 'nothing is left in TMPDIR');
    assert.doesNotMatch(r.stdout, new RegExp(w.env['TMPDIR']!));
    const run = paste(r.stdout);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /TALOS-MAC-DEMO booted from/);
  });
});
